//! What an install is for (its role): the organiser's hub, a scorer's laptop or the media
//! staff's laptop. One type, used by sync (who may send what), the use cases (what a laptop may
//! edit) and the shell.

use serde::{Deserialize, Serialize};
use specta::Type;

/// What an install is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 组织方主机: the organiser's hub; roster, rubric and moderation live here.
    Hub,
    /// 评分电脑: a scorer's laptop.
    Scorer,
    /// 直播电脑: the media staff's laptop.
    Media,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Hub, Role::Scorer, Role::Media];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hub => "hub",
            Role::Scorer => "scorer",
            Role::Media => "media",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// A laptop (not the hub): it edits only its own records, never the hub's.
    pub fn is_laptop(self) -> bool {
        self != Role::Hub
    }

    /// May run the resident site, and so take residents' comments: the hub (`guanmo serve
    /// --site`) and the media laptop (its LAN site); never a scorer's laptop.
    pub fn runs_site(self) -> bool {
        matches!(self, Role::Hub | Role::Media)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_reads_back_what_it_stores_and_nothing_else() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("organiser"), None);
        assert_eq!(Role::parse("Hub"), None);
        assert!(Role::Scorer.is_laptop() && Role::Media.is_laptop() && !Role::Hub.is_laptop());
        assert!(Role::Hub.runs_site() && Role::Media.runs_site() && !Role::Scorer.runs_site());
    }
}
