//! People (人员) and who is at the keyboard (谁在操作).
//!
//! The organiser keeps the list of people on the hub; it replicates to every laptop. A PIN
//! belongs to one person on one device and never leaves it: on the hub a person types their
//! own PIN in front of the organiser; on a laptop they sign in the first time with a one-time
//! code the hub issued (8 characters, good for 24 hours, once per device) and choose their PIN
//! there. Both are stored only as argon2id hashes; five wrong PINs lock the person's sign-in on
//! that device for five minutes, and every try is in the device's sign-in log.
//!
//! On the desktop, once someone can sign in on a device, every write needs a person signed
//! in, names them in its author label (score audit, moderation log, posts, exports, the op
//! log), and the app locks after the idle time. The CLI and the hub's server act as the
//! organiser's device with no person, as before.
//!
//! What a person may see follows their roles (背靠背): a 评分人 opens only their own sheets;
//! the live ranking, the audit of all sheets and the result exports are for 组织方 and 计票人,
//! and for the 监票人 once the tally is revealed (see [`crate::tally`]).

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use guanmo_domain::device::Role;
use guanmo_domain::people::{
    validate_person, validate_pin, Person, PersonInput, PersonRole, DEFAULT_IDLE_MINUTES,
    MAX_PIN_FAILURES, PIN_LOCK_MINUTES, UNASSIGNED_ID,
};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_store::people::{self as store, SignInEvent};
use guanmo_store::{meta, scoring as scoring_store};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Device-local setting: minutes without use before the app locks.
const IDLE_MINUTES: &str = "idle_lock_minutes";
/// How long a one-time code is good for.
const CODE_HOURS: i64 = 24;
/// Characters of a one-time code: no 0/O, 1/I/L to misread.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

/// Who is signed in on this device, in memory only: a restart asks again.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    /// The desktop asks who is working; the CLI and the hub's server do not.
    interactive: bool,
    person_id: Option<String>,
    last_active: Option<DateTime<Utc>>,
}

fn refused(code: ErrorCode, location: &str, message: &str) -> ApiError {
    ApiError::with_problems(
        code,
        message.to_string(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

fn forbidden(message: &str) -> ApiError {
    refused(ErrorCode::Forbidden, "权限", message)
}

fn session_poisoned() -> ApiError {
    ApiError::new(ErrorCode::Internal, "session lock poisoned")
}

/// The desktop shell calls this once at start: from now on this device asks who is working
/// (as soon as someone can sign in here) and every write names the person.
pub fn ask_who_is_working(ctx: &Ctx) -> ApiResult<()> {
    ctx.session
        .write()
        .map_err(|_| session_poisoned())?
        .interactive = true;
    Ok(())
}

/// Minutes without use before the app locks on this device.
pub fn idle_minutes(ctx: &Ctx) -> ApiResult<i64> {
    Ok(ctx
        .store
        .read(|c| meta::get(c, IDLE_MINUTES))?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_IDLE_MINUTES))
}

/// Sets the idle time (1–120 minutes), on this device.
pub fn set_idle_minutes(ctx: &Ctx, minutes: i64) -> ApiResult<SessionView> {
    ensure_person_role(ctx, PersonRole::Organiser)?;
    if !(1..=120).contains(&minutes) {
        return Err(refused(
            ErrorCode::Validation,
            "自动锁定",
            "自动锁定时间须在 1 到 120 分钟之间",
        ));
    }
    ctx.store
        .write_without_ops(ctx.now(), &ctx.author()?, |tx| {
            meta::set(tx, IDLE_MINUTES, &minutes.to_string())
        })?;
    session(ctx)
}

/// Whether `person` may sign in on a device of this role: a scorer's laptop is for 评分人, the
/// media laptop for 编辑, 审核员, 签发人 and 组织方; the hub (or a laptop used on its own) for anyone.
fn eligible(person: &Person, role: Option<Role>) -> bool {
    if !person.active || person.is_unassigned() {
        return false;
    }
    match role {
        Some(Role::Scorer) => person.has(PersonRole::Scorer),
        Some(Role::Media) => {
            person.has(PersonRole::Editor)
                || person.has(PersonRole::Moderator)
                || person.has(PersonRole::Organiser)
                || person.has(PersonRole::Approver)
        }
        Some(Role::Hub) | None => true,
    }
}

/// Whether this device asks who is working: on the desktop, once anyone can sign in here —
/// on the hub once a person has a PIN on it, on a laptop once the hub's list names a person
/// for its role (they sign in with a one-time code the first time).
pub fn sign_in_required(ctx: &Ctx) -> ApiResult<bool> {
    if !ctx
        .session
        .read()
        .map_err(|_| session_poisoned())?
        .interactive
    {
        return Ok(false);
    }
    let role = ctx.device_role()?;
    let people = ctx.store.read(store::list_people)?;
    match role {
        Some(r) if r.is_laptop() => Ok(people.iter().any(|p| eligible(p, role))),
        _ => {
            let with_pin = ctx.store.read(store::people_with_pin)?;
            Ok(people
                .iter()
                .any(|p| eligible(p, role) && with_pin.contains(&p.id)))
        }
    }
}

/// The person signed in now, if any; `None` once the idle time has passed (and that lock is
/// logged once).
pub fn signed_in(ctx: &Ctx) -> ApiResult<Option<Person>> {
    let (person_id, last_active) = {
        let s = ctx.session.read().map_err(|_| session_poisoned())?;
        match (&s.person_id, s.last_active) {
            (Some(p), Some(t)) => (p.clone(), t),
            _ => return Ok(None),
        }
    };
    if ctx.now() - last_active > Duration::minutes(idle_minutes(ctx)?) {
        end_session(ctx, SignInEvent::IdleLock)?;
        return Ok(None);
    }
    match ctx.store.read(|c| store::get_person(c, &person_id)) {
        Ok(p) if p.active => Ok(Some(p)),
        // Made inactive (or gone) meanwhile: signed out.
        _ => {
            end_session(ctx, SignInEvent::SignedOut)?;
            Ok(None)
        }
    }
}

/// Refuses a write when this device asks who is working and no one is signed in; a write
/// counts as use (the idle time starts again).
pub(crate) fn ensure_signed_in(ctx: &Ctx) -> ApiResult<()> {
    if !sign_in_required(ctx)? {
        return Ok(());
    }
    if signed_in(ctx)?.is_none() {
        return Err(refused(
            ErrorCode::SignInRequired,
            "谁在操作",
            "请先选择您的姓名并输入 PIN",
        ));
    }
    touch(ctx)
}

fn touch(ctx: &Ctx) -> ApiResult<()> {
    let mut s = ctx.session.write().map_err(|_| session_poisoned())?;
    if s.person_id.is_some() {
        s.last_active = Some(ctx.now());
    }
    Ok(())
}

fn end_session(ctx: &Ctx, event: SignInEvent) -> ApiResult<()> {
    let person = {
        let mut s = ctx.session.write().map_err(|_| session_poisoned())?;
        s.last_active = None;
        s.person_id.take()
    };
    if let Some(p) = person {
        ctx.store.write_without_ops(ctx.now(), "system", |tx| {
            store::log_event(tx, &p, event, "")
        })?;
    }
    Ok(())
}

/// The person at the keyboard, for a check: the one signed in, or `None` on a device that does
/// not ask who is working (it acts as the organiser's, as before people). A device that asks
/// and has no one signed in refuses (`sign_in_required`), reads as much as writes: a locked
/// hub shows no ranking and no sheet.
fn at_keyboard(ctx: &Ctx) -> ApiResult<Option<Person>> {
    if let Some(p) = signed_in(ctx)? {
        return Ok(Some(p));
    }
    if sign_in_required(ctx)? {
        return Err(refused(
            ErrorCode::SignInRequired,
            "谁在操作",
            "请先选择您的姓名并输入 PIN",
        ));
    }
    Ok(None)
}

/// Refuses when the person signed in lacks `role` (a device where no one signs in acts as
/// the organiser, as before).
pub(crate) fn ensure_person_role(ctx: &Ctx, role: PersonRole) -> ApiResult<()> {
    match at_keyboard(ctx)? {
        Some(p) if !p.has(role) => Err(forbidden(&format!(
            "只有{}可以进行此操作(当前:{})",
            role.label(),
            p.name
        ))),
        _ => Ok(()),
    }
}

/// Refuses when the person signed in holds none of `roles` (a device where no one signs in
/// acts as before).
pub(crate) fn ensure_any_role(ctx: &Ctx, roles: &[PersonRole]) -> ApiResult<()> {
    match at_keyboard(ctx)? {
        Some(p) if !roles.iter().any(|r| p.has(*r)) => {
            let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
            Err(forbidden(&format!(
                "只有{}可以进行此操作(当前:{})",
                names.join("、"),
                p.name
            )))
        }
        _ => Ok(()),
    }
}

/// Whether the person signed in sees every sheet: 组织方 and 计票人, and the 监票人 once the
/// tally is revealed (read-only). No one signed in: the device decides (as before people).
fn sees_all_sheets(ctx: &Ctx, p: &Person) -> ApiResult<bool> {
    Ok(p.has(PersonRole::Organiser)
        || p.has(PersonRole::Counter)
        || (p.has(PersonRole::Monitor) && crate::tally::revealed(ctx)?))
}

/// The scorer whose sheets alone the person signed in may see, when they may not see all
/// (`Some("")` for someone who is no 评分人 and sees none).
pub(crate) fn own_scorer_only(ctx: &Ctx) -> ApiResult<Option<String>> {
    match at_keyboard(ctx)? {
        Some(p) if !sees_all_sheets(ctx, &p)? => Ok(Some(p.scorer_id.unwrap_or_default())),
        _ => Ok(None),
    }
}

/// Refuses to show one scorer's sheet to a person who is a 评分人 for someone else (背靠背);
/// 组织方 and 计票人 see every sheet, the 监票人 once revealed.
pub(crate) fn ensure_may_see_sheet(ctx: &Ctx, scorer_id: &str) -> ApiResult<()> {
    match at_keyboard(ctx)? {
        Some(p) if !sees_all_sheets(ctx, &p)? && p.scorer_id.as_deref() != Some(scorer_id) => {
            tracing::warn!(person = %p.id, scorer = %scorer_id, "refused another scorer's sheet");
            Err(forbidden("背靠背评分:只能查看和填写本人的评分表"))
        }
        _ => Ok(()),
    }
}

/// Refuses to let anyone but the scorer's own 评分人 fill or submit their sheet (背靠背):
/// 组织方 and 计票人 see every sheet but never write in one, and paper sheets are entered by
/// 计分员 through 双人录入. A device where no one signs in acts as before.
pub(crate) fn ensure_may_fill_sheet(ctx: &Ctx, scorer_id: &str) -> ApiResult<()> {
    match at_keyboard(ctx)? {
        Some(p) if p.scorer_id.as_deref() != Some(scorer_id) => {
            tracing::warn!(person = %p.id, scorer = %scorer_id, "refused writing another scorer's sheet");
            Err(forbidden(
                "背靠背评分:只能填写本人的评分表;纸质评分表由计分员双人录入",
            ))
        }
        _ => Ok(()),
    }
}

/// Refuses the live ranking, the audit of every sheet and the result exports to whoever may
/// not see them: any scorer's or media laptop (it holds no marks but its own), and a person
/// who is neither 组织方 nor 计票人 — a 监票人 once the tally is revealed.
pub(crate) fn ensure_sees_results(ctx: &Ctx) -> ApiResult<()> {
    if let Some(role) = ctx.device_role()? {
        if role.is_laptop() {
            return Err(forbidden(
                "背靠背评分:排名和汇总只在组织方主机上查看,评分电脑和直播电脑不接收他人的评分",
            ));
        }
    }
    match at_keyboard(ctx)? {
        None => Ok(()),
        Some(p) if p.roles.iter().any(|r| r.sees_live_ranking()) => Ok(()),
        Some(p) if p.has(PersonRole::Monitor) && crate::tally::revealed(ctx)? => Ok(()),
        Some(p) => {
            tracing::warn!(person = %p.id, "refused the ranking before the reveal");
            Err(forbidden(
                "揭晓前只有组织方和计票人能查看排名;监票人在揭晓后查看完整汇总",
            ))
        }
    }
}

/// A person as the 人员 list shows them.
#[derive(Debug, Clone, Serialize, Type)]
pub struct PersonView {
    /// The person.
    pub person: Person,
    /// The scorer they score as, by name.
    pub scorer_name: Option<String>,
    /// Whether they have a PIN on this device.
    pub has_pin_here: bool,
    /// Until when their one-time code is good, if one is issued and not expired.
    pub code_expires_at: Option<String>,
}

/// Everyone but 未指定, in the order they were added.
pub fn list_people(ctx: &Ctx) -> ApiResult<Vec<PersonView>> {
    let now = ctx.now();
    ctx.store
        .read(|c| {
            let with_pin = store::people_with_pin(c)?;
            let mut out = Vec::new();
            for person in store::list_people(c)? {
                if person.is_unassigned() {
                    continue;
                }
                let scorer_name = match &person.scorer_id {
                    Some(id) => scoring_store::get_scorer(c, id).ok().map(|s| s.name),
                    None => None,
                };
                let code_expires_at = store::code(c, &person.id)?
                    .map(|r| r.expires_at)
                    .filter(|t| parse_time(t).is_some_and(|t| t > now));
                out.push(PersonView {
                    has_pin_here: with_pin.contains(&person.id),
                    person,
                    scorer_name,
                    code_expires_at,
                });
            }
            Ok(out)
        })
        .map_err(Into::into)
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn check_scorer_link(ctx: &Ctx, id: Option<&str>, input: &PersonInput) -> ApiResult<()> {
    let Some(scorer_id) = input.scorer_id.as_deref() else {
        return Ok(());
    };
    let problem = |m: &str| {
        Err(ApiError::with_problems(
            ErrorCode::Validation,
            m.to_string(),
            vec![Problem::error(ProblemCode::Invalid, "对应评分人", m)],
        ))
    };
    if ctx
        .store
        .read(|c| scoring_store::get_scorer(c, scorer_id))
        .is_err()
    {
        return problem("所选评分人员不存在");
    }
    if let Some(other) = ctx
        .store
        .read(|c| store::person_of_scorer(c, scorer_id))?
        .filter(|p| Some(p.id.as_str()) != id)
    {
        return problem(&format!("该评分人员已对应{}", other.name));
    }
    Ok(())
}

/// Adds a person (`id` `None`) or edits one (with the version read). Organiser's hub only.
pub fn save_person(
    ctx: &Ctx,
    id: Option<String>,
    expected_version: i32,
    mut input: PersonInput,
) -> ApiResult<Person> {
    ctx.ensure_organiser()?;
    let problems = validate_person(&mut input);
    if !problems.is_empty() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "person refused",
            problems,
        ));
    }
    if id.as_deref() == Some(UNASSIGNED_ID) {
        return Err(refused(ErrorCode::Validation, "姓名", "“未指定”不能修改"));
    }
    check_scorer_link(ctx, id.as_deref(), &input)?;
    // The organiser signed in cannot take away their own 组织方 role or deactivate themself:
    // the hub would be left with no one to manage people (another organiser may).
    if let (Some(me), Some(id)) = (signed_in(ctx)?, id.as_deref()) {
        if me.id == id
            && me.has(PersonRole::Organiser)
            && (!input.roles.contains(&PersonRole::Organiser) || !input.active)
        {
            return Err(refused(
                ErrorCode::Validation,
                "角色",
                "不能取消本人的组织方角色或停用本人;如需更改,请由另一位组织方操作",
            ));
        }
    }
    let author = ctx.author()?;
    Ok(ctx.store.write(ctx.now(), &author, |tx| match &id {
        None => store::insert_person(tx, &guanmo_domain::ids::new_id(), &input),
        Some(id) => store::update_person(tx, id, expected_version, &input),
    })?)
}

fn hash_secret(secret: &str) -> ApiResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn pin_problem(p: Problem) -> ApiError {
    ApiError::with_problems(ErrorCode::Validation, p.message.clone(), vec![p])
}

/// Sets a person's PIN on this device. On the hub (or a laptop used on its own) the organiser
/// lets the person type it; anywhere, a person signed in may change their own.
pub fn set_pin(ctx: &Ctx, person_id: &str, pin: &str) -> ApiResult<PersonView> {
    validate_pin(pin).map_err(pin_problem)?;
    let person = ctx.store.read(|c| store::get_person(c, person_id))?;
    if person.is_unassigned() || !person.active {
        return Err(refused(
            ErrorCode::Validation,
            "PIN",
            "该人员已停用,不能设置 PIN",
        ));
    }
    let me = signed_in(ctx)?;
    let own = me.as_ref().is_some_and(|p| p.id == person_id);
    if !own {
        ctx.ensure_organiser()?;
        if sign_in_required(ctx)? {
            match &me {
                Some(p) if p.has(PersonRole::Organiser) => {}
                _ => {
                    return Err(forbidden(
                        "只有组织方可以为他人设置 PIN(本人登录后可以修改自己的 PIN)",
                    ))
                }
            }
        }
    }
    let hash = hash_secret(pin)?;
    ctx.store
        .write_without_ops(ctx.now(), &ctx.actor()?.label(), |tx| {
            store::set_pin(tx, person_id, &hash)?;
            store::log_event(tx, person_id, SignInEvent::PinSet, "")
        })?;
    list_people(ctx)?
        .into_iter()
        .find(|v| v.person.id == person_id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "person"))
}

/// A one-time code, shown once to the organiser who issued it.
#[derive(Debug, Clone, Serialize, Type)]
pub struct IssuedCode {
    /// The code (8 characters).
    pub code: String,
    /// Good until then.
    pub expires_at: String,
}

fn random_code() -> ApiResult<String> {
    let mut out = String::with_capacity(CODE_LEN);
    while out.len() < CODE_LEN {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % CODE_ALPHABET.len();
        for x in b {
            if (x as usize) < limit && out.len() < CODE_LEN {
                out.push(char::from(CODE_ALPHABET[x as usize % CODE_ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// Issues a one-time code for a person to sign in on a laptop the first time (hub only). The
/// code replicates only as its hash; issuing a new one replaces the old.
pub fn issue_sign_in_code(ctx: &Ctx, person_id: &str) -> ApiResult<IssuedCode> {
    ctx.ensure_organiser()?;
    let person = ctx.store.read(|c| store::get_person(c, person_id))?;
    if person.is_unassigned() || !person.active {
        return Err(refused(ErrorCode::Validation, "登录码", "该人员已停用"));
    }
    let code = random_code()?;
    let hash = hash_secret(&code)?;
    let expires_at = (ctx.now() + Duration::hours(CODE_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        store::set_code(tx, person_id, &hash, &expires_at)
    })?;
    tracing::info!(person = %person_id, "one-time sign-in code issued");
    Ok(IssuedCode { code, expires_at })
}

/// A person on the 谁在操作 list.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SignInChoice {
    /// Person id.
    pub id: String,
    /// 姓名.
    pub name: String,
    /// 单位.
    pub work_unit: String,
    /// 职务.
    pub title: String,
    /// Roles.
    pub roles: Vec<PersonRole>,
    /// Has a PIN on this device (otherwise: the one-time code first).
    pub has_pin: bool,
    /// Sign-in locked until then after wrong PINs.
    pub locked_until: Option<String>,
}

/// What the 谁在操作 screen needs, and who is signed in.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SessionView {
    /// This device asks who is working.
    pub required: bool,
    /// Who is signed in.
    pub person: Option<Person>,
    /// Minutes without use before the app locks.
    pub idle_minutes: i32,
    /// The people who may sign in on this device (filtered by its role).
    pub choices: Vec<SignInChoice>,
}

/// The 谁在操作 screen: who may sign in here, and who is signed in.
pub fn session(ctx: &Ctx) -> ApiResult<SessionView> {
    let role = ctx.device_role()?;
    let now = ctx.now();
    let choices = ctx.store.read(|c| {
        let mut out = Vec::new();
        for p in store::list_people(c)? {
            if !eligible(&p, role) {
                continue;
            }
            let pin = store::pin(c, &p.id)?;
            out.push(SignInChoice {
                has_pin: pin.is_some(),
                locked_until: pin
                    .and_then(|r| r.locked_until)
                    .filter(|t| parse_time(t).is_some_and(|t| t > now)),
                id: p.id,
                name: p.name,
                work_unit: p.work_unit,
                title: p.title,
                roles: p.roles,
            });
        }
        Ok(out)
    })?;
    Ok(SessionView {
        required: sign_in_required(ctx)?,
        person: signed_in(ctx)?,
        idle_minutes: i32::try_from(idle_minutes(ctx)?).unwrap_or(i32::MAX),
        choices,
    })
}

fn begin(ctx: &Ctx, person: &Person) -> ApiResult<SessionView> {
    {
        let mut s = ctx.session.write().map_err(|_| session_poisoned())?;
        s.person_id = Some(person.id.clone());
        s.last_active = Some(ctx.now());
    }
    // A 评分人 on a scorer's laptop fills their own scorer's sheets.
    if ctx.device_role()? == Some(Role::Scorer) {
        if let Some(scorer_id) = &person.scorer_id {
            crate::scoring::set_device_scorer(ctx, Some(scorer_id.clone()))?;
        }
    }
    session(ctx)
}

fn signable(ctx: &Ctx, person_id: &str) -> ApiResult<Person> {
    let person = ctx.store.read(|c| store::get_person(c, person_id))?;
    if !eligible(&person, ctx.device_role()?) {
        return Err(forbidden("该人员不能在本机登录(已停用,或角色与本机不符)"));
    }
    Ok(person)
}

fn wrong(message: &str) -> ApiError {
    refused(ErrorCode::SignInRefused, "PIN", message)
}

/// Signs a person in with their PIN. Five wrong PINs in a row lock their sign-in here for five
/// minutes; every try is logged.
pub fn sign_in(ctx: &Ctx, person_id: &str, pin: &str) -> ApiResult<SessionView> {
    let person = signable(ctx, person_id)?;
    let now = ctx.now();
    let Some(record) = ctx.store.read(|c| store::pin(c, person_id))? else {
        return Err(wrong(
            "本机尚未设置该人员的 PIN,请用组织方发放的一次性登录码首次登录",
        ));
    };
    if let Some(until) = record.locked_until.as_deref().and_then(parse_time) {
        if until > now {
            ctx.store.write_without_ops(now, "system", |tx| {
                store::log_event(tx, person_id, SignInEvent::RefusedLocked, "")
            })?;
            let left = (until - now).num_seconds().max(1);
            return Err(wrong(&format!(
                "PIN 输错次数过多,已锁定,请 {} 分 {} 秒后再试",
                left / 60,
                left % 60
            )));
        }
    }
    if !verify_secret(pin, &record.pin_hash) {
        let lock = record.failures + 1 >= MAX_PIN_FAILURES;
        let until = (now + Duration::minutes(PIN_LOCK_MINUTES))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        ctx.store.write_without_ops(now, "system", |tx| {
            store::pin_failed(tx, person_id, lock.then_some(until.as_str()))?;
            store::log_event(
                tx,
                person_id,
                if lock {
                    SignInEvent::Locked
                } else {
                    SignInEvent::WrongPin
                },
                &format!("第 {} 次", record.failures + 1),
            )
        })?;
        tracing::warn!(person = %person_id, failures = record.failures + 1, "wrong PIN");
        return Err(if lock {
            wrong(&format!(
                "PIN 连续输错 {MAX_PIN_FAILURES} 次,已锁定 {PIN_LOCK_MINUTES} 分钟"
            ))
        } else {
            wrong(&format!(
                "PIN 不正确,还可以再试 {} 次",
                MAX_PIN_FAILURES - record.failures - 1
            ))
        });
    }
    ctx.store.write_without_ops(now, "system", |tx| {
        store::pin_ok(tx, person_id)?;
        store::log_event(tx, person_id, SignInEvent::SignedIn, "")
    })?;
    begin(ctx, &person)
}

/// First sign-in on this device: the one-time code the hub issued, then the person's new PIN.
pub fn sign_in_with_code(
    ctx: &Ctx,
    person_id: &str,
    code: &str,
    new_pin: &str,
) -> ApiResult<SessionView> {
    let person = signable(ctx, person_id)?;
    validate_pin(new_pin).map_err(pin_problem)?;
    let now = ctx.now();
    let code = code.trim().to_ascii_uppercase();
    let record = ctx.store.read(|c| store::code(c, person_id))?;
    let valid = record.as_ref().is_some_and(|r| {
        parse_time(&r.expires_at).is_some_and(|t| t > now) && verify_secret(&code, &r.code_hash)
    });
    let used = match &record {
        Some(r) => ctx
            .store
            .read(|c| store::logged_since(c, person_id, SignInEvent::CodeUsed, &r.issued_at))?,
        None => false,
    };
    if !valid || used {
        ctx.store.write_without_ops(now, "system", |tx| {
            store::log_event(tx, person_id, SignInEvent::WrongCode, "")
        })?;
        tracing::warn!(person = %person_id, "wrong or used one-time code");
        return Err(refused(
            ErrorCode::SignInRefused,
            "登录码",
            "登录码不正确、已过期或已在本机用过,请向组织方索取新的登录码(同步后生效)",
        ));
    }
    let hash = hash_secret(new_pin)?;
    ctx.store.write_without_ops(now, "system", |tx| {
        store::set_pin(tx, person_id, &hash)?;
        store::log_event(tx, person_id, SignInEvent::CodeUsed, "")?;
        store::log_event(tx, person_id, SignInEvent::PinSet, "")?;
        store::log_event(tx, person_id, SignInEvent::SignedIn, "")
    })?;
    begin(ctx, &person)
}

/// 切换用户 / 锁定: signs the person out; the app asks who is working again.
pub fn sign_out(ctx: &Ctx, idle: bool) -> ApiResult<SessionView> {
    end_session(
        ctx,
        if idle {
            SignInEvent::IdleLock
        } else {
            SignInEvent::SignedOut
        },
    )?;
    session(ctx)
}

/// The person used the app: the idle time starts again. Returns the session as it stands
/// (with no person once the idle time had already passed).
pub fn keep_alive(ctx: &Ctx) -> ApiResult<SessionView> {
    if signed_in(ctx)?.is_some() {
        touch(ctx)?;
    }
    session(ctx)
}

/// One line of the sign-in log.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct SignInLogLine {
    /// When.
    pub at: String,
    /// Who.
    pub person_id: String,
    /// Their name.
    pub person_name: String,
    /// signed_in, wrong_pin, locked, refused_locked, signed_out, idle_lock, pin_set, code_used,
    /// wrong_code.
    pub event: String,
    /// Details.
    pub detail: String,
}

/// The latest 200 lines of this device's sign-in log (组织方).
pub fn sign_in_log(ctx: &Ctx) -> ApiResult<Vec<SignInLogLine>> {
    ensure_person_role(ctx, PersonRole::Organiser)?;
    Ok(ctx
        .store
        .read(|c| store::sign_in_log(c, 200))?
        .into_iter()
        .map(|l| SignInLogLine {
            at: l.at,
            person_id: l.person_id,
            person_name: l.person_name,
            event: l.event,
            detail: l.detail,
        })
        .collect())
}

#[cfg(test)]
mod tests;
