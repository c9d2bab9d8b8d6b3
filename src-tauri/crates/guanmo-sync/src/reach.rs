//! 传播数据 on a media laptop: the resident site residents read runs on the organiser's hub,
//! so a paired media laptop shows the hub's figures, asked for when the view opens (never
//! stored here). When the hub cannot be reached it shows its own site's counts, saying why.

use crate::identity::{self, Role};
use crate::{SyncError, Transport};
use guanmo_api::reach::{self, ReachReport, ReachSource};
use guanmo_api::{ApiResult, Ctx};

/// The report the 传播数据 view shows: the hub's on a paired media laptop, this device's
/// otherwise (the hub itself, a scorer's laptop, a laptop not paired).
pub fn view(ctx: &Ctx) -> ApiResult<ReachReport> {
    reach::ensure_may_read(ctx)?;
    let me = identity::device_identity(ctx).map_err(to_api)?;
    let link = match me.role {
        Some(Role::Media) => identity::hub_link(ctx).map_err(to_api)?,
        _ => None,
    };
    let Some(link) = link else {
        return reach::report(ctx);
    };
    let from_hub = link.transport().and_then(|t| t.reach());
    of_hub_or_own(ctx, from_hub)
}

/// [`view`] over `transport` (tests: the in-memory hub).
pub fn view_over(ctx: &Ctx, transport: &dyn Transport) -> ApiResult<ReachReport> {
    reach::ensure_may_read(ctx)?;
    of_hub_or_own(ctx, transport.reach())
}

fn of_hub_or_own(ctx: &Ctx, from_hub: Result<ReachReport, SyncError>) -> ApiResult<ReachReport> {
    match from_hub {
        Ok(mut r) => {
            r.source = ReachSource::Hub;
            r.source_note = None;
            Ok(r)
        }
        Err(e) => {
            tracing::warn!(error = %e, "传播数据: the hub's figures could not be fetched");
            let mut own = reach::report(ctx)?;
            own.source_note = Some(format!(
                "暂时无法从组织方主机取得传播数据({}),以下是本机直播网站的统计。",
                reason(&e)
            ));
            Ok(own)
        }
    }
}

/// Why the hub gave nothing, in words for the note.
fn reason(e: &SyncError) -> &'static str {
    use crate::SyncErrorCode as C;
    match e.code {
        C::Unreachable => "连接不上",
        C::CertChanged | C::CertUntrusted | C::InsecureAddress => "主机证书或地址不可信",
        C::NotPaired | C::Unauthorized => "本机未配对或已被撤销",
        C::BadRequest => "主机拒绝了请求",
        C::PairingRefused | C::BundleInvalid | C::Storage => "主机出错",
    }
}

fn to_api(e: SyncError) -> guanmo_api::ApiError {
    guanmo_api::ApiError::new(guanmo_api::ErrorCode::Internal, e.to_string())
}
