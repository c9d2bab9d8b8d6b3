//! The sensitive-word list (敏感词库). A word is *kept* in its folded form ([`fold_word`]:
//! NFKC, lower case, no invisible characters or spaces), which is what the store and sync hold.
//! It is *matched* in a stricter form, its [key](match_key): traditional characters become
//! simplified (賭 → 赌), everything that is not a letter, number or ideograph is dropped, and
//! runs of one character count once. Comments are keyed the same way, character by character,
//! so `赌*博`, `赌 . 博`, `賭😀博`, `赌赌博博` and `ｂ.ａ.ｄ` all hit while `赌场里没有博物馆` does
//! not: a letter or ideograph between two characters of a word breaks it. Every character of
//! the key remembers the original characters it came from, so a hit marks the original span,
//! separators included. A hit only flags a comment for the moderator; nothing is ever
//! published or rejected automatically.

use crate::comments::is_invisible;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// Longest word, in characters.
pub const MAX_WORD_CHARS: usize = 50;
/// Most words in the list.
pub const MAX_WORDS: usize = 50_000;

/// Folds a word for the list: NFKC, lower case, no invisible characters or white space.
/// Returns `None` when nothing is left or the word is too long. This is the form the list
/// keeps and shows; matching uses [`match_key`].
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

/// The form a word or text is matched in: NFKC, lower case, traditional → simplified, only
/// letters, numbers and ideographs, and a run of one character once (`賭 博 博!` → `赌博`).
/// A word whose key is empty matches nothing; one whose key is a single character matches
/// nearly every comment that has that character.
pub fn match_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    let mut last = None;
    for c in text.chars() {
        key_chars(c, |k| {
            if last != Some(k) {
                key.push(k);
                last = Some(k);
            }
        });
    }
    key
}

/// Traditional (and Taiwan/Hong Kong variant) characters to simplified ones, one character
/// to one, from OpenCC's tables as `hanconv` ships them. Character level on purpose: a key
/// character must stay tied to the original character it came from. Applying it twice
/// changes nothing (chains such as 薴 → 苧 → 苎 are followed to the end).
static T2S: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    use hanconv::RawDictionary::{HKVariants, TSCharacters, TWVariants};
    fn one(s: &str) -> Option<char> {
        let mut it = s.chars();
        let c = it.next()?;
        it.next().is_none().then_some(c)
    }
    let mut map: HashMap<char, char> = TSCharacters
        .iter()
        .filter_map(|(t, s)| Some((one(t)?, one(s)?)))
        .filter(|(t, s)| t != s)
        .collect();
    // A regional variant (臺灣 forms such as 偽) goes to the standard traditional form and on to
    // simplified, unless the variant is itself a simplified character (喫/吃: 吃 stays 吃).
    let simplified: HashSet<char> = map.values().copied().collect();
    for (variant, standard) in TWVariants.inv_iter().chain(HKVariants.inv_iter()) {
        let (Some(v), Some(s)) = (one(variant), one(standard)) else {
            continue;
        };
        if v != s && !map.contains_key(&v) && !simplified.contains(&v) {
            map.insert(v, s);
        }
    }
    let resolve = |c: char| {
        let mut to = c;
        // Chains are a step or two long; the bound only guards against a cycle in the data.
        for _ in 0..4 {
            match map.get(&to) {
                Some(&next) if next != c => to = next,
                _ => break,
            }
        }
        to
    };
    let resolved: HashMap<char, char> = map.keys().map(|&t| (t, resolve(t))).collect();
    resolved.into_iter().filter(|(t, s)| t != s).collect()
});

fn to_simplified(c: char) -> char {
    // Below U+2E80 there is no CJK character to convert: skip the lookup for Latin text.
    if c < '\u{2E80}' {
        return c;
    }
    T2S.get(&c).copied().unwrap_or(c)
}

/// The key characters of one original character (usually one or none; NFKC can give more,
/// `㍿` → `株式会社`).
fn key_chars(c: char, mut emit: impl FnMut(char)) {
    // Fast paths for what comments are made of: NFKC leaves both unchanged.
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            emit(c.to_ascii_lowercase());
        }
        return;
    }
    if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        emit(to_simplified(c));
        return;
    }
    if is_invisible(c) || c.is_whitespace() || c.is_control() {
        return;
    }
    let mut buf = [0u8; 4];
    for n in c.encode_utf8(&mut buf).nfkc() {
        for l in n.to_lowercase() {
            if l.is_alphanumeric() {
                emit(to_simplified(l));
            }
        }
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
    /// The listed words, folded, sorted.
    words: Vec<String>,
    /// For each pattern of `matcher`, the listed word reported for it.
    names: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Default for WordList {
    fn default() -> Self {
        Self::new(Vec::<String>::new())
    }
}

impl WordList {
    /// Compiles the list; words are folded, blank and repeated ones dropped. Words with the
    /// same key (`赌博` and `賭博`) are matched once and reported as the first of them;
    /// words with an empty key (`***`) match nothing.
    pub fn new<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> WordList {
        let mut folded: Vec<String> = words
            .into_iter()
            .filter_map(|w| fold_word(w.as_ref()))
            .collect();
        folded.sort();
        folded.dedup();
        let mut keys: HashSet<String> = HashSet::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for w in &folded {
            let key = match_key(w);
            if key.is_empty() || !keys.insert(key.clone()) {
                continue;
            }
            patterns.push(key);
            names.push(w.clone());
        }
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        WordList {
            words: folded,
            names,
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
            if !out.iter().any(|o| o == w) {
                out.push(w.to_string());
            }
        }
        out
    }

    /// `text` split into parts, the ones that hit a word marked, for highlighting. The parts
    /// put together are `text`; a marked part runs from the first to the last original
    /// character of the hit, separators between them included.
    pub fn highlight(&self, text: &str) -> Vec<TextPart> {
        let mut parts = Vec::new();
        let mut at = 0;
        for (start, end, word) in self.matches(text) {
            // One original character can give several key characters (`㍿`), so two hits
            // may share it: the later one starts where the earlier ended.
            let start = start.max(at);
            if end <= start {
                continue;
            }
            if start > at {
                parts.push(TextPart {
                    text: text[at..start].to_string(),
                    word: None,
                });
            }
            parts.push(TextPart {
                text: text[start..end].to_string(),
                word: Some(word.to_string()),
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
    fn matches(&self, text: &str) -> Vec<(usize, usize, &str)> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        // The key of the text, and for each of its bytes the original characters it came
        // from: the first to the last of a run of one character.
        let mut key = String::with_capacity(text.len());
        let mut origin: Vec<(usize, usize)> = Vec::with_capacity(text.len());
        let mut last = None;
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            key_chars(c, |k| {
                if last == Some(k) {
                    let from = origin.len().saturating_sub(k.len_utf8());
                    for o in origin.iter_mut().skip(from) {
                        o.1 = end;
                    }
                } else {
                    key.push(k);
                    origin.extend(std::iter::repeat_n((i, end), k.len_utf8()));
                    last = Some(k);
                }
            });
        }
        matcher
            .find_iter(&key)
            .filter_map(|m| {
                let start = origin.get(m.start())?.0;
                let end = origin.get(m.end().checked_sub(1)?)?.1;
                let word = self.names.get(m.pattern().as_usize())?;
                Some((start, end, word.as_str()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn part(text: &str, word: Option<&str>) -> TextPart {
        TextPart {
            text: text.into(),
            word: word.map(Into::into),
        }
    }

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
    fn symbols_spaces_and_emoji_between_the_characters_of_a_word_still_hit() {
        let list = WordList::new(["赌博"]);
        for text in [
            "赌*博",
            "赌.博",
            "赌 博",
            "赌 . 博",
            "赌😀博",
            "赌_博",
            "赌＊博",
            "赌。博",
            "赌\t\n博",
            "赌\u{0336}博\u{0336}",
            "赌👍🏻博",
            "【赌】【博】",
            "赌…—～博",
        ] {
            assert_eq!(list.hits(text), vec!["赌博"], "{text:?} must hit");
        }
    }

    #[test]
    fn traditional_and_regional_forms_fold_to_simplified() {
        let list = WordList::new(["赌博", "诈骗", "伪造"]);
        assert_eq!(list.hits("賭博"), vec!["赌博"]);
        assert_eq!(list.hits("詐騙電話"), vec!["诈骗"]);
        // 偽 is the Taiwan form of 僞, which is traditional for 伪.
        assert_eq!(list.hits("偽造證件"), vec!["伪造"]);
        // A traditional word in the list matches simplified text, and is reported as listed.
        let list = WordList::new(["賭博"]);
        assert_eq!(list.hits("赌博"), vec!["賭博"]);
    }

    #[test]
    fn repeated_characters_collapse_in_both_the_word_and_the_text() {
        let list = WordList::new(["赌博", "谢谢你"]);
        assert_eq!(list.hits("赌赌博博"), vec!["赌博"]);
        assert_eq!(list.hits("赌博博"), vec!["赌博"]);
        assert_eq!(list.hits("赌~赌~博"), vec!["赌博"]);
        assert_eq!(list.hits("谢谢你"), vec!["谢谢你"]);
        assert_eq!(list.hits("谢谢谢你啊"), vec!["谢谢你"]);
        assert_eq!(match_key("谢谢"), "谢");
    }

    #[test]
    fn characters_apart_in_ordinary_text_do_not_hit() {
        let list = WordList::new(["赌博", "badword"]);
        assert!(list.hits("赌场里没有博物馆").is_empty());
        assert!(list.hits("赌一博").is_empty());
        assert!(list.hits("赌1博").is_empty());
        // Spaces never separated words (they were folded before), letters still do.
        assert_eq!(list.hits("bad words"), vec!["badword"]);
        assert!(list.hits("bad new word").is_empty());
    }

    #[test]
    fn words_without_letters_or_ideographs_match_nothing() {
        let list = WordList::new(["***", "😀", "赌博"]);
        assert_eq!(list.len(), 3);
        assert_eq!(list.hits("*** 😀 ok"), Vec::<String>::new());
        assert_eq!(match_key("!!! ..."), "");
    }

    #[test]
    fn the_conversion_table_is_stable_and_leaves_simplified_text_alone() {
        for (&t, &s) in T2S.iter() {
            assert_eq!(to_simplified(s), s, "{t} → {s} must not convert again");
        }
        assert!(T2S.len() > 3000, "OpenCC's table has about 4000 characters");
        let plain = "常宁市持续优化营商环境,吃拿卡要必须整治,乾隆年间";
        assert_eq!(
            match_key(plain),
            "常宁市持续优化营商环境吃拿卡要必须整治干隆年间"
        );
    }

    #[test]
    fn highlighting_marks_the_original_characters() {
        let list = WordList::new(["赌博"]);
        assert_eq!(
            list.highlight("有赌\u{200B}博吗"),
            vec![
                part("有", None),
                part("赌\u{200B}博", Some("赌博")),
                part("吗", None)
            ]
        );
        assert_eq!(
            list.highlight("来赌赌 * 賭博博!快"),
            vec![
                part("来", None),
                part("赌赌 * 賭博博", Some("赌博")),
                part("!快", None)
            ]
        );
    }

    #[test]
    fn two_hits_inside_one_expanded_character_do_not_overlap() {
        // ㍿ is 株式会社 after NFKC: both words come from the one character.
        let list = WordList::new(["株式", "会社"]);
        let parts = list.highlight("a㍿b");
        let joined: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, "a㍿b");
        assert_eq!(list.hits("a㍿b"), vec!["株式", "会社"]);
    }

    #[test]
    fn an_empty_list_matches_nothing_and_blank_words_are_dropped() {
        let list = WordList::new(["", "  ", "\u{200B}"]);
        assert!(list.is_empty());
        assert!(list.hits("anything").is_empty());
        assert_eq!(list.highlight("").len(), 1);
    }

    /// Matching 500 characters against 10 000 words; printed, not asserted (a busy CI
    /// machine must not fail on it). `cargo test -p guanmo-domain --release -- --nocapture
    /// matching_speed`.
    #[test]
    fn matching_speed_is_printed() {
        let pool: Vec<char> =
            "赌博彩票六合诈骗贷款网络兼职刷单代开发票枪支弹药毒品冰麻古傻逼垃圾滚蛋杀人放火黑社会"
                .chars()
                .collect();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let mut words = HashSet::new();
        while words.len() < 10_000 {
            let n = 2 + next() % 4;
            words.insert(
                (0..n)
                    .map(|_| pool[next() % pool.len()])
                    .collect::<String>(),
            );
        }
        let compiled = std::time::Instant::now();
        let list = WordList::new(&words);
        let compiled = compiled.elapsed();
        let sentence =
            "为美丽宜阳点赞!今天观摩了水口山镇的产业园,变化很大,希望道路再修宽一点,路灯多装几盏。";
        let mut text: String = sentence.chars().cycle().take(497).collect();
        text.push_str("赌*博");
        let rounds = 2_000;
        let started = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..rounds {
            n += list.hits(std::hint::black_box(&text)).len();
        }
        let each = started.elapsed() / rounds;
        println!(
            "matching 500 chars against {} words: {each:?} per comment ({n} hits); \
             compiling the list: {compiled:?}",
            list.len()
        );
    }

    /// Simplified characters of the generated words, with a traditional form where there is one.
    const POOL: &[(char, Option<char>)] = &[
        ('赌', Some('賭')),
        ('博', None),
        ('诈', Some('詐')),
        ('骗', Some('騙')),
        ('钱', Some('錢')),
        ('杀', Some('殺')),
        ('枪', Some('槍')),
        ('毒', None),
        ('贷', Some('貸')),
        ('网', Some('網')),
        ('彩', None),
        ('发', Some('發')),
        ('买', Some('買')),
        ('卖', Some('賣')),
        ('药', Some('藥')),
        ('黑', None),
        ('滚', Some('滾')),
        ('蛋', None),
    ];
    const SEPARATORS: &[&str] = &[
        "*", ".", " ", "　", "😀", "_", "\u{200B}", "\u{200D}", "，", "!", "～", "👍🏻", "\u{FEFF}",
        "\u{0336}", "·", "-", "【", "】", "\n",
    ];

    #[test]
    fn the_pool_s_traditional_forms_fold_to_its_simplified_ones() {
        for &(s, t) in POOL {
            if let Some(t) = t {
                assert_eq!(match_key(&t.to_string()), s.to_string());
            }
        }
    }

    fn listed_word() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0..POOL.len(), 2..=6)
            .prop_filter("two or more characters after collapsing repeats", |w| {
                w.windows(2).any(|p| p[0] != p[1])
            })
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

        /// A listed word disguised with separators, invisible characters, emoji, traditional
        /// forms and repeats between and around its characters is always flagged, and the
        /// marked part is exactly the disguised word.
        #[test]
        fn a_disguised_listed_word_is_always_flagged(
            word in listed_word(),
            disguise in proptest::collection::vec(
                (proptest::bool::ANY, 1..=3usize, proptest::collection::vec(0..SEPARATORS.len(), 0..3)),
                6,
            ),
            before in "[一-龥a-z ，。]{0,10}",
            after in "[一-龥a-z ，。]{0,10}",
        ) {
            let listed: String = word.iter().map(|&i| POOL[i].0).collect();
            let mut disguised = String::new();
            for (n, &i) in word.iter().enumerate() {
                let (traditional, repeats, seps) = &disguise[n];
                let (s, t) = POOL[i];
                let c = if *traditional { t.unwrap_or(s) } else { s };
                for _ in 0..*repeats {
                    disguised.push(c);
                }
                if n + 1 < word.len() {
                    for &k in seps {
                        disguised.push_str(SEPARATORS[k]);
                    }
                }
            }
            let list = WordList::new([listed.as_str(), "毫不相干"]);
            let text = format!("{before}。{disguised}。{after}");
            prop_assert!(list.hits(&text).contains(&listed), "{:?} in {:?}", listed, text);
            let parts = list.highlight(&text);
            let joined: String = parts.iter().map(|p| p.text.as_str()).collect();
            prop_assert_eq!(&joined, &text);
            prop_assert!(parts.iter().any(|p| p.word.as_deref() == Some(listed.as_str())
                && p.text.contains(&disguised)));
        }

        /// The characters of listed words in order, but each pair split by an ideograph that
        /// is in no listed word, never flag, whatever separators surround them.
        #[test]
        fn listed_characters_split_by_another_ideograph_never_flag(
            words in proptest::collection::vec(listed_word(), 1..5),
            splitters in proptest::collection::vec("[一-龥]", 6),
            seps in proptest::collection::vec(0..SEPARATORS.len(), 6),
            traditional in proptest::bool::ANY,
        ) {
            let listed: Vec<String> = words
                .iter()
                .map(|w| w.iter().map(|&i| POOL[i].0).collect())
                .collect();
            let list = WordList::new(&listed);
            let in_pool = |c: char| {
                POOL.iter().any(|&(s, t)| match_key(&c.to_string()) == s.to_string() || Some(c) == t)
            };
            for w in &words {
                let mut text = String::new();
                for (n, &i) in w.iter().enumerate() {
                    let (s, t) = POOL[i];
                    text.push(if traditional { t.unwrap_or(s) } else { s });
                    if n + 1 < w.len() {
                        let splitter = splitters[n].chars().next().unwrap_or('的');
                        let splitter = if in_pool(splitter) { '的' } else { splitter };
                        text.push_str(SEPARATORS[seps[n]]);
                        text.push(splitter);
                        text.push_str(SEPARATORS[seps[(n + 1) % seps.len()]]);
                    }
                }
                prop_assert!(list.hits(&text).is_empty(), "{:?} flagged {:?}", text, list.hits(&text));
            }
        }
    }
}
