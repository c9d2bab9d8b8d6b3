//! The sensitive-word list (敏感词库). Words and comments are compared after the same
//! folding: NFKC (fullwidth ＡＢＣ becomes ABC), lower case, and without invisible characters
//! or spaces, so `敏\u{200B}感` or `ＢＡＤ` still hit. A hit only flags a comment for the
//! moderator; nothing is ever published or rejected automatically.

use crate::comments::is_invisible;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};
use specta::Type;
use unicode_normalization::UnicodeNormalization;

/// Longest word, in characters.
pub const MAX_WORD_CHARS: usize = 50;
/// Most words in the list.
pub const MAX_WORDS: usize = 50_000;

/// Folds a word for the list: NFKC, lower case, no invisible characters or white space.
/// Returns `None` when nothing is left or the word is too long.
pub fn fold_word(word: &str) -> Option<String> {
    let mut out = String::new();
    for c in word.trim().chars() {
        fold_char(c, &mut out);
    }
    let n = out.chars().count();
    (n > 0 && n <= MAX_WORD_CHARS).then_some(out)
}

fn fold_char(c: char, out: &mut String) {
    if is_invisible(c) || c.is_whitespace() || c.is_control() {
        return;
    }
    let mut buf = [0u8; 4];
    for n in c.encode_utf8(&mut buf).nfkc() {
        if is_invisible(n) || n.is_whitespace() {
            continue;
        }
        out.extend(n.to_lowercase());
    }
}

/// One part of a comment for display: text, and the listed word it hit, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TextPart {
    /// The original characters.
    pub text: String,
    /// The listed word this part matched.
    pub word: Option<String>,
}

/// A compiled word list.
#[derive(Debug, Clone)]
pub struct WordList {
    words: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Default for WordList {
    fn default() -> Self {
        Self::new(Vec::<String>::new())
    }
}

impl WordList {
    /// Compiles the list; words are folded, blank and repeated ones dropped.
    pub fn new<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> WordList {
        let mut folded: Vec<String> = words
            .into_iter()
            .filter_map(|w| fold_word(w.as_ref()))
            .collect();
        folded.sort();
        folded.dedup();
        let matcher = if folded.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&folded)
                .ok()
        };
        WordList {
            words: folded,
            matcher,
        }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The listed words that occur in `text`, each once, in order of first occurrence.
    pub fn hits(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, _, w) in self.matches(text) {
            if !out.contains(&w) {
                out.push(w);
            }
        }
        out
    }

    /// `text` split into parts, the ones that hit a word marked, for highlighting.
    pub fn highlight(&self, text: &str) -> Vec<TextPart> {
        let mut parts = Vec::new();
        let mut at = 0;
        for (start, end, word) in self.matches(text) {
            if start > at {
                parts.push(TextPart {
                    text: text[at..start].to_string(),
                    word: None,
                });
            }
            parts.push(TextPart {
                text: text[start..end].to_string(),
                word: Some(word),
            });
            at = end;
        }
        if at < text.len() || parts.is_empty() {
            parts.push(TextPart {
                text: text[at..].to_string(),
                word: None,
            });
        }
        parts
    }

    /// Non-overlapping matches as byte ranges of the original `text` and the word matched.
    fn matches(&self, text: &str) -> Vec<(usize, usize, String)> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        // The folded text, and for each of its bytes the original char it came from.
        let mut folded = String::with_capacity(text.len());
        let mut origin: Vec<(usize, usize)> = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let before = folded.len();
            fold_char(c, &mut folded);
            for _ in before..folded.len() {
                origin.push((i, i + c.len_utf8()));
            }
        }
        matcher
            .find_iter(&folded)
            .filter_map(|m| {
                let start = origin.get(m.start())?.0;
                let end = origin.get(m.end().checked_sub(1)?)?.1;
                let word = self.words.get(m.pattern().as_usize())?.clone();
                Some((start, end, word))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_defeats_fullwidth_case_and_zero_width_tricks() {
        let list = WordList::new(["赌博", "BadWord"]);
        assert_eq!(list.hits("这里有赌\u{200B}博广告"), vec!["赌博"]);
        assert_eq!(list.hits("ｂａｄ ｗｏｒｄ!"), vec!["badword"]);
        assert_eq!(
            list.hits("BADWORD and 赌博 and badword"),
            vec!["badword", "赌博"]
        );
        assert!(list.hits("一切正常").is_empty());
    }

    #[test]
    fn highlighting_marks_the_original_characters() {
        let list = WordList::new(["赌博"]);
        let parts = list.highlight("有赌\u{200B}博吗");
        assert_eq!(
            parts,
            vec![
                TextPart {
                    text: "有".into(),
                    word: None
                },
                TextPart {
                    text: "赌\u{200B}博".into(),
                    word: Some("赌博".into())
                },
                TextPart {
                    text: "吗".into(),
                    word: None
                },
            ]
        );
    }

    #[test]
    fn an_empty_list_matches_nothing_and_blank_words_are_dropped() {
        let list = WordList::new(["", "  ", "\u{200B}"]);
        assert!(list.is_empty());
        assert!(list.hits("anything").is_empty());
        assert_eq!(list.highlight("").len(), 1);
    }

    proptest! {
        /// The parts always put the original text back together, and every word inserted
        /// into any text is found.
        #[test]
        fn parts_rebuild_the_text_and_inserted_words_are_found(
            before in "\\PC{0,30}", after in "\\PC{0,30}", zw in proptest::bool::ANY
        ) {
            let list = WordList::new(["违禁词", "spam"]);
            let word = if zw { "违\u{200D}禁词" } else { "ＳＰＡＭ" };
            let text = format!("{before}{word}{after}");
            let joined: String = list.highlight(&text).into_iter().map(|p| p.text).collect();
            prop_assert_eq!(&joined, &text);
            prop_assert!(!list.hits(&text).is_empty());
        }
    }
}
