//! The sealed tally (封存) and its reveal (揭晓).
//!
//! Scoring is 背靠背: before the reveal only 组织方 and 计票人 see the ranking. When every
//! expected sheet is in (or the organiser closes scoring with a reason), the organiser seals
//! the tally: the app writes it in a canonical form (every submitted sheet's base and
//! adjustment in tenths, by township code and scorer id, with the ranking it yields, the
//! rubric version and the rule) and shows its SHA-256 to the 监票人. The reveal shows the tally
//! to the 监票人 and prints the same digest on the 汇总表, so anyone can check that what was
//! revealed is what was sealed. A change to any sheet after sealing voids the seal: it must be
//! sealed again before it is revealed.

use crate::people::signed_in;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::people::PersonRole;
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::scoring::check_reason;
use guanmo_store::people::{self as store, Seal};
use serde::Serialize;
use sha2::{Digest, Sha256};
use specta::Type;
use std::collections::HashMap;

/// The format name written first in every canonical tally.
pub const TALLY_FORMAT: &str = "guanmo-tally-1";

#[derive(Serialize)]
struct CanonicalSheet {
    scorer_id: String,
    scorer: String,
    base_tenths: i32,
    adjustment_tenths: i32,
}

#[derive(Serialize)]
struct CanonicalTownship {
    code: String,
    name: String,
    expected: i32,
    sheets: Vec<CanonicalSheet>,
    rank: Option<i32>,
    /// Two decimals as text, so the digest never depends on how a float prints.
    result: Option<String>,
}

#[derive(Serialize)]
struct CanonicalTally {
    format: &'static str,
    rubric_title: String,
    rubric_version: i32,
    /// The groups' own rubrics (本组评分标准) as `group:title 第N版`; left out when none, so
    /// a tally without them reads as it always did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group_rubrics: Vec<String>,
    rule: String,
    townships: Vec<CanonicalTownship>,
}

/// The canonical tally as it stands (compact JSON, fields in a fixed order) and its SHA-256 in
/// lowercase hex.
pub fn canonical_tally(ctx: &Ctx) -> ApiResult<(String, String)> {
    let standings = crate::scoring::standings_unchecked(ctx)?;
    let rubric = crate::rubric::get_rubric(ctx)?;
    let scorers: HashMap<String, String> = crate::scoring::list_scorers(ctx)?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut sheets = ctx.store.read(guanmo_store::scoring::submitted_sheets)?;
    sheets.sort_by(|a, b| a.scorer_id.cmp(&b.scorer_id));
    let by_township: HashMap<&str, &guanmo_domain::aggregation::Standing> = standings
        .rows
        .iter()
        .map(|r| (r.township_id.as_str(), r))
        .collect();
    let mut townships = Vec::new();
    for t in crate::scoring::enabled_townships(ctx)? {
        let row = by_township.get(t.id.as_str());
        townships.push(CanonicalTownship {
            code: t.code.clone(),
            name: t.name.clone(),
            expected: row.map_or(0, |r| r.expected),
            sheets: sheets
                .iter()
                .filter(|s| s.township_id == t.id)
                .map(|s| CanonicalSheet {
                    scorer_id: s.scorer_id.clone(),
                    scorer: scorers.get(&s.scorer_id).cloned().unwrap_or_default(),
                    base_tenths: s.base_tenths,
                    adjustment_tenths: s.adjustment_tenths,
                })
                .collect(),
            rank: row.and_then(|r| r.rank),
            result: row.and_then(|r| r.result).map(|v| format!("{v:.2}")),
        });
    }
    townships.sort_by(|a, b| a.code.cmp(&b.code));
    let tally = CanonicalTally {
        format: TALLY_FORMAT,
        rubric_title: rubric.title.clone(),
        rubric_version: rubric.version,
        group_rubrics: crate::rubric::list_rubrics(ctx)?
            .into_iter()
            .filter(|r| !r.eval_group.is_empty())
            .map(|r| format!("{}:{} 第{}版", r.eval_group, r.title, r.version))
            .collect(),
        rule: standings.rule_summary.clone(),
        townships,
    };
    let json = serde_json::to_string(&tally)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let digest = hex(&Sha256::digest(json.as_bytes()));
    Ok((json, digest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A seal as the 揭晓 view shows it.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SealView {
    /// Number.
    pub id: i32,
    /// When it was sealed.
    pub sealed_at: String,
    /// Who sealed it (author label).
    pub sealed_by: String,
    /// SHA-256 of the canonical tally (64 hex characters).
    pub digest: String,
    /// Why scoring was closed with sheets missing, if it was.
    pub close_reason: String,
    /// When it was revealed.
    pub revealed_at: Option<String>,
    /// Who revealed it.
    pub revealed_by: Option<String>,
    /// The tally still matches the digest (no sheet changed since).
    pub still_valid: bool,
}

/// Where the count stands, for the organiser, 计票人 and 监票人.
#[derive(Debug, Clone, Serialize, Type)]
pub struct TallyStatus {
    /// Sheets expected over all open or closed enabled townships' active scorers.
    pub expected: i32,
    /// Sheets submitted.
    pub submitted: i32,
    /// Every expected sheet is in.
    pub complete: bool,
    /// The latest seal.
    pub seal: Option<SealView>,
    /// Revealed, and still what was sealed.
    pub revealed: bool,
}

fn view(seal: Seal, current: &str) -> SealView {
    SealView {
        id: i32::try_from(seal.id).unwrap_or(i32::MAX),
        still_valid: seal.digest == current,
        sealed_at: seal.sealed_at,
        sealed_by: seal.sealed_by,
        digest: seal.digest,
        close_reason: seal.close_reason,
        revealed_at: seal.revealed_at,
        revealed_by: seal.revealed_by,
    }
}

/// Whether the latest seal was revealed (the 监票人 may then see the full tally).
pub(crate) fn revealed(ctx: &Ctx) -> ApiResult<bool> {
    Ok(ctx.store.read(store::latest_seal_revealed)?)
}

/// The digest printed on the 汇总表: the latest seal's, once revealed and still valid.
pub fn printed_digest(ctx: &Ctx) -> ApiResult<Option<String>> {
    let Some(seal) = ctx.store.read(store::latest_seal)? else {
        return Ok(None);
    };
    if seal.revealed_at.is_none() {
        return Ok(None);
    }
    let (_, current) = canonical_tally(ctx)?;
    Ok((seal.digest == current).then_some(seal.digest))
}

fn ensure_watches_count(ctx: &Ctx) -> ApiResult<()> {
    if ctx.device_role()?.is_some_and(|r| r.is_laptop()) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the tally lives on the organiser's hub",
        ));
    }
    match signed_in(ctx)? {
        Some(p)
            if !p.has(PersonRole::Organiser)
                && !p.has(PersonRole::Counter)
                && !p.has(PersonRole::Monitor) =>
        {
            Err(ApiError::with_problems(
                ErrorCode::Forbidden,
                "not a counter, monitor or organiser",
                vec![Problem::error(
                    ProblemCode::Invalid,
                    "揭晓",
                    "只有组织方、计票人和监票人可以查看封存与揭晓",
                )],
            ))
        }
        _ => Ok(()),
    }
}

/// Where the count stands.
pub fn tally_status(ctx: &Ctx) -> ApiResult<TallyStatus> {
    ensure_watches_count(ctx)?;
    let board = crate::scoring::scoring_board(ctx)?;
    let expected: i32 = board.townships.iter().map(|t| t.expected).sum();
    let submitted: i32 = board
        .townships
        .iter()
        .map(|t| t.submitted.min(t.expected))
        .sum();
    let (_, current) = canonical_tally(ctx)?;
    let seal = ctx
        .store
        .read(store::latest_seal)?
        .map(|s| view(s, &current));
    Ok(TallyStatus {
        expected,
        submitted,
        complete: expected > 0 && submitted >= expected,
        revealed: seal
            .as_ref()
            .is_some_and(|s| s.revealed_at.is_some() && s.still_valid),
        seal,
    })
}

/// Seals the tally (组织方): needs every expected sheet, or a reason for closing without them.
pub fn seal_tally(ctx: &Ctx, close_reason: Option<String>) -> ApiResult<TallyStatus> {
    ctx.ensure_organiser()?;
    let status = tally_status(ctx)?;
    let reason = match (status.complete, close_reason.as_deref().map(str::trim)) {
        (true, r) => r.unwrap_or_default().to_string(),
        (false, Some(r)) => check_reason(r).map_err(|e| {
            ApiError::with_problems(
                ErrorCode::Validation,
                e.message.clone(),
                vec![e.at("结束原因")],
            )
        })?,
        (false, None) => {
            return Err(ApiError::with_problems(
                ErrorCode::Validation,
                "sheets missing",
                vec![Problem::error(
                    ProblemCode::Required,
                    "结束原因",
                    format!(
                        "还有 {} 份评分表未提交;如需现在封存,请填写结束评分的原因",
                        status.expected - status.submitted
                    ),
                )],
            ))
        }
    };
    if let Some(s) = &status.seal {
        if s.still_valid && s.revealed_at.is_none() {
            return Ok(status);
        }
    }
    let (json, digest) = canonical_tally(ctx)?;
    ctx.store
        .write_without_ops(ctx.now(), &ctx.author()?, |tx| {
            store::insert_seal(tx, &digest, &json, &reason).map(|_| ())
        })?;
    tracing::info!(%digest, "tally sealed");
    tally_status(ctx)
}

/// Reveals the sealed tally (组织方): refused when nothing is sealed, or a sheet changed since.
pub fn reveal_tally(ctx: &Ctx) -> ApiResult<TallyStatus> {
    ctx.ensure_organiser()?;
    let status = tally_status(ctx)?;
    let refuse = |m: &str| {
        Err(ApiError::with_problems(
            ErrorCode::Validation,
            m.to_string(),
            vec![Problem::error(ProblemCode::Invalid, "揭晓", m)],
        ))
    };
    let Some(seal) = &status.seal else {
        return refuse("请先封存成绩,把校验码给监票人核对后再揭晓");
    };
    if !seal.still_valid {
        return refuse("封存后有评分表发生变动,请重新封存并请监票人核对新的校验码");
    }
    if seal.revealed_at.is_some() {
        return Ok(status);
    }
    let id = i64::from(seal.id);
    ctx.store
        .write_without_ops(ctx.now(), &ctx.author()?, |tx| store::reveal_seal(tx, id))?;
    tracing::info!(digest = %seal.digest, "tally revealed");
    tally_status(ctx)
}

/// The sealed tally's canonical text (for the 监票人 to recompute the digest elsewhere), once
/// revealed.
pub fn sealed_tally_text(ctx: &Ctx) -> ApiResult<Option<String>> {
    ensure_watches_count(ctx)?;
    Ok(ctx
        .store
        .read(store::latest_seal)?
        .filter(|s| s.revealed_at.is_some())
        .map(|s| s.tally))
}
