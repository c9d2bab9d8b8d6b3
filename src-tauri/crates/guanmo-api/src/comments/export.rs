//! Comment files for the office: the suggestions with their handling (意见建议办理情况), and
//! the full record of comments and moderation decisions, kept at least 180 days. Every cell
//! is written as a string (a comment starting with `=` stays text, never a formula) and the
//! file is written whole or not at all.
//!
//! Residents' numbers are sealed at rest (`guanmo_store::phone_crypt`); the full record is the
//! one place they are opened, for a 组织方 or 审核员 who asks for it (or the retention purge's
//! own export before it deletes), and every such export is a line in the moderation record:
//! who, when, how many numbers.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::comments::{Comment, CommentStatus, Handling, RETENTION_DAYS};
use guanmo_domain::people::PersonRole;
use guanmo_store::comments as store;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;
use std::path::Path;

fn township_names(ctx: &Ctx) -> ApiResult<HashMap<String, String>> {
    Ok(crate::roster::list_townships(ctx)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect())
}

fn header(ws: &mut Worksheet, cols: &[(&str, f64)]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (i, (name, width)) in cols.iter().enumerate() {
        let c = i as u16;
        ws.write_string_with_format(0, c, *name, &bold)?;
        ws.set_column_width(c, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn row(ws: &mut Worksheet, r: u32, cells: &[&str]) -> Result<(), XlsxError> {
    for (i, v) in cells.iter().enumerate() {
        ws.write_string(r, i as u16, *v)?;
    }
    Ok(())
}

fn name_of<'a>(names: &'a HashMap<String, String>, id: Option<&String>) -> &'a str {
    id.and_then(|i| names.get(i)).map_or("", String::as_str)
}

fn finish(mut wb: Workbook, path: &Path) -> ApiResult<()> {
    let bytes = wb.save_to_buffer().map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("building the workbook failed: {e}"),
        )
    })?;
    crate::files::write_atomically(path, &bytes)
}

fn xlsx_err(e: XlsxError) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("building the workbook failed: {e}"),
    )
}

/// Writes every suggestion with its status, township, handling and reply to `path` (XLSX).
/// Numbers are masked: this file goes to the townships.
pub fn export_suggestions_xlsx(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    let names = township_names(ctx)?;
    let mut list: Vec<Comment> = ctx
        .store
        .read(store::all)?
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.handling.is_some())
        .collect();
    list.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    (|| -> Result<(), XlsxError> {
        ws.set_name("意见建议")?;
        header(
            ws,
            &[
                ("序号", 6.0),
                ("提交时间", 20.0),
                ("昵称", 14.0),
                ("手机号", 14.0),
                ("涉及乡镇", 12.0),
                ("内容", 60.0),
                ("审核状态", 10.0),
                ("办理状态", 10.0),
                ("交办乡镇", 12.0),
                ("交办时间", 20.0),
                ("回复内容", 60.0),
                ("回复时间", 20.0),
            ],
        )?;
        for (i, c) in list.iter().enumerate() {
            let n = (i + 1).to_string();
            row(
                ws,
                i as u32 + 1,
                &[
                    &n,
                    &c.created_at,
                    &c.nickname,
                    &c.phone_masked,
                    name_of(&names, c.township_id.as_ref()),
                    &c.text,
                    c.status.label(),
                    c.handling.map_or("", Handling::label),
                    name_of(&names, c.assigned_to.as_ref()),
                    c.assigned_at.as_deref().unwrap_or(""),
                    c.reply.as_deref().unwrap_or(""),
                    c.replied_at.as_deref().unwrap_or(""),
                ],
            )?;
        }
        Ok(())
    })()
    .map_err(xlsx_err)?;
    finish(wb, path)
}

/// The moderation record's action of a 评论记录 export that opened residents' numbers.
pub const EXPORT_ACTION: &str = "export_records";

/// Writes the full record to `path` (XLSX): every comment with its full number and every
/// moderation decision with who, when and why. For the office's retention duty (at least
/// 180 days); the file holds personal data. Only a 组织方 or 审核员 may (a device where no one
/// signs in acts as the organiser); the export is logged in the moderation record.
pub fn export_records_xlsx(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Moderator])?;
    let author = ctx.author()?;
    write_records_xlsx(ctx, path, &author)
}

/// The full record for `actor` (already checked, or the host itself: the retention purge),
/// numbers opened, then logged: `export_records` with how many numbers were opened. A file
/// whose export cannot be logged is removed again.
pub(crate) fn write_records_xlsx(ctx: &Ctx, path: &Path, actor: &str) -> ApiResult<()> {
    let names = township_names(ctx)?;
    let keys = ctx.store.phone_keys();
    let mut opened = 0u32;
    let mut open = |sealed: Option<Vec<u8>>| -> ApiResult<Option<String>> {
        sealed
            .map(|s| {
                opened += 1;
                keys.open(&s)
            })
            .transpose()
            .map_err(ApiError::from)
    };
    let comments = ctx
        .store
        .read(store::all)?
        .into_iter()
        .map(|(c, sealed)| Ok((c, open(sealed)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    let log = ctx
        .store
        .read(store::log_full)?
        .into_iter()
        .map(|(e, sealed)| Ok((e, open(sealed)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut wb = Workbook::new();
    (|| -> Result<(), XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name("评论")?;
        header(
            ws,
            &[
                ("编号", 38.0),
                ("提交时间", 20.0),
                ("对象", 38.0),
                ("类型", 10.0),
                ("昵称", 14.0),
                ("手机号", 14.0),
                ("号码已验证", 10.0),
                ("涉及乡镇", 12.0),
                ("内容", 60.0),
                ("敏感词", 16.0),
                ("审核状态", 10.0),
                ("驳回理由", 20.0),
                ("审核时间", 20.0),
                ("审核人", 12.0),
                ("申诉理由", 20.0),
                ("置顶", 6.0),
            ],
        )?;
        for (i, (c, phone)) in comments.iter().enumerate() {
            row(
                ws,
                i as u32 + 1,
                &[
                    &c.id,
                    &c.created_at,
                    &c.target,
                    c.kind.label(),
                    &c.nickname,
                    // A replica (a comment taken on another device) has only the masked number.
                    phone.as_deref().unwrap_or(&c.phone_masked),
                    if c.phone_verified { "是" } else { "未验证" },
                    name_of(&names, c.township_id.as_ref()),
                    &c.text,
                    &c.flagged_words.join("、"),
                    c.status.label(),
                    if c.status == CommentStatus::Rejected {
                        c.reject_reason.as_deref().unwrap_or("")
                    } else {
                        ""
                    },
                    c.decided_at.as_deref().unwrap_or(""),
                    c.decided_by.as_deref().unwrap_or(""),
                    c.appeal_reason.as_deref().unwrap_or(""),
                    if c.pinned { "是" } else { "" },
                ],
            )?;
        }
        let ws = wb.add_worksheet();
        ws.set_name("审核记录")?;
        header(
            ws,
            &[
                ("时间", 20.0),
                ("操作人", 12.0),
                ("操作", 14.0),
                ("评论编号", 38.0),
                ("手机号", 14.0),
                ("理由", 30.0),
                ("说明", 24.0),
            ],
        )?;
        for (i, (e, phone)) in log.iter().enumerate() {
            row(
                ws,
                i as u32 + 1,
                &[
                    &e.at,
                    &e.actor,
                    action_label(&e.action),
                    e.comment_id.as_deref().unwrap_or(""),
                    phone.as_deref().unwrap_or(""),
                    e.reason.as_deref().unwrap_or(""),
                    e.detail.as_deref().unwrap_or(""),
                ],
            )?;
        }
        let ws = wb.add_worksheet();
        ws.set_name("说明")?;
        ws.write_string(
            0,
            0,
            format!(
                "本文件含评论者手机号等个人信息,仅用于依法留存(不少于{RETENTION_DAYS}天)和核查,请妥善保管。"
            ),
        )?;
        Ok(())
    })()
    .map_err(xlsx_err)?;
    finish(wb, path)?;
    let detail = format!("解密手机号 {opened} 个");
    let logged = ctx.store.write(ctx.now(), actor, |tx| {
        store::log(tx, EXPORT_ACTION, None, None, None, Some(&detail))
    });
    if let Err(e) = logged {
        let _ = std::fs::remove_file(path);
        return Err(e.into());
    }
    tracing::info!(
        numbers = opened,
        "评论记录 exported with residents' numbers"
    );
    Ok(())
}

/// The Chinese word for a moderation-record action.
pub fn action_label(action: &str) -> &str {
    match action {
        "approve" => "审核通过",
        "reject" => "驳回",
        "pin" => "置顶",
        "unpin" => "取消置顶",
        "appeal" => "申诉",
        "report" => "举报",
        "dismiss_reports" => "举报不成立",
        "mute" => "禁言",
        "unmute" => "解除禁言",
        "close" => "关闭评论区",
        "reopen" => "开放评论区",
        "assign" => "交办",
        "reply" => "登记回复",
        "words" => "修改敏感词库",
        "sms" => "设置短信验证",
        "official_reply" => "官方回复",
        "retention" => "修改保存期限",
        EXPORT_ACTION => "导出评论记录",
        other => other,
    }
}
