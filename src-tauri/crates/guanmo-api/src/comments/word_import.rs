//! Importing a sensitive-word list file (敏感词库导入) in the forms lists are passed around in:
//! plain text, UTF-8 (with or without BOM) or GBK, one word a line, `#` comment lines and blank
//! lines ignored, optionally `word,category` (also a tab or a fullwidth comma). The file is
//! checked whole before anything is written: a structural error (not text, a line with more
//! than two fields, no word at all, a list over [`MAX_WORDS`]) imports nothing. Otherwise each
//! line is imported, reported as a duplicate (same [match key](match_key) as a listed word or
//! an earlier line), or refused with its line number. One-character words flag nearly every
//! comment, so they are refused unless asked for. The store keeps no category: categories are
//! read and reported only.

use super::{forget_word_list, refuse, word_list};
use crate::exchange::ExchangeError;
use crate::{ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::words::{fold_word, match_key, MAX_WORDS, MAX_WORD_CHARS};
use guanmo_store::comments as store;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::HashMap;
use std::path::Path;

/// Longest category, in characters.
pub const MAX_CATEGORY_CHARS: usize = 20;

/// How to import a word list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct WordImportOptions {
    /// Import words of one character after folding too (each with a warning) instead of
    /// refusing them.
    pub allow_single_characters: bool,
    /// Only report what the import would do; write nothing.
    pub preview: bool,
}

/// A word of the file that goes into the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ImportedWord {
    /// Line in the file, from 1.
    pub line: u32,
    /// The word as the list keeps it (folded).
    pub word: String,
    /// The category after the word, if any (reported only; the list keeps none).
    pub category: Option<String>,
}

/// A line whose word is already in the list, or earlier in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct DuplicateWord {
    /// Line in the file, from 1.
    pub line: u32,
    /// The word as written on the line.
    pub word: String,
    /// The word it matches the same as (`賭博` is `赌博`).
    pub same_as: String,
    /// The earlier line of the file with it; `None` when it is in the list already.
    pub earlier_line: Option<u32>,
}

/// A line that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RefusedLine {
    /// Line in the file, from 1.
    pub line: u32,
    /// The line (its first 60 characters).
    pub text: String,
    /// Why, for the moderator.
    pub reason: String,
}

/// An imported word that deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct WordWarning {
    /// Line in the file, from 1.
    pub line: u32,
    /// The word as the list keeps it.
    pub word: String,
    /// What to look at.
    pub message: String,
}

/// Words imported per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct CategoryCount {
    /// The category as written in the file; empty for words without one.
    pub category: String,
    /// Words of it imported.
    pub words: u32,
}

/// What an import did (or, as a preview, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct WordImportReport {
    /// Words added to the list.
    pub added: Vec<ImportedWord>,
    /// Lines whose word was in the list already or earlier in the file.
    pub duplicates: Vec<DuplicateWord>,
    /// Lines not imported, with the reason.
    pub refused: Vec<RefusedLine>,
    /// Imported words that match very widely.
    pub warnings: Vec<WordWarning>,
    /// Added words per category, in order of first appearance.
    pub categories: Vec<CategoryCount>,
    /// Words in the list after the import (before it, for a preview).
    pub total: u32,
    /// Nothing was written.
    pub preview: bool,
    /// One sentence for the moderator.
    pub message: String,
}

/// One word line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordLine {
    /// Line in the file, from 1.
    pub line: u32,
    /// The word as written, trimmed.
    pub word: String,
    /// The category, trimmed; `None` when absent or empty.
    pub category: Option<String>,
}

const SEPARATORS: [char; 3] = [',', '\t', '\u{FF0C}'];

fn line_problem(code: ProblemCode, line: u32, message: String) -> Problem {
    Problem::error(code, format!("第{line}行"), format!("第{line}行:{message}")).at_row(line)
}

/// Reads the lines of a decoded word-list file. `Err` holds every structural problem; the
/// file is then refused whole.
pub fn parse_word_file(text: &str) -> Result<Vec<WordLine>, Vec<Problem>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if raw
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\r')
        {
            problems.push(line_problem(
                ProblemCode::Invalid,
                line,
                "含有控制字符,不像是文本文件".into(),
            ));
            continue;
        }
        let trimmed = raw.trim().trim_start_matches('\u{FEFF}');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('\u{FF03}') {
            continue;
        }
        let mut fields: Vec<&str> = trimmed.split(SEPARATORS).map(str::trim).collect();
        // Spreadsheets often save trailing empty cells as trailing separators.
        while fields.len() > 1 && fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        if fields.len() > 2 {
            problems.push(line_problem(
                ProblemCode::RaggedRow,
                line,
                format!("有{}栏,只认「词」或「词,分类」两种写法", fields.len()),
            ));
            continue;
        }
        lines.push(WordLine {
            line,
            word: fields.first().copied().unwrap_or_default().to_string(),
            category: fields
                .get(1)
                .filter(|c| !c.is_empty())
                .map(|c| c.to_string()),
        });
    }
    if problems.is_empty() && lines.is_empty() {
        problems.push(Problem::error(
            ProblemCode::Empty,
            "文件",
            "文件里没有词(每行一个词,# 开头的行是注释)",
        ));
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

fn shown(text: &str) -> String {
    text.chars().take(60).collect()
}

/// Sorts the lines into added, duplicate and refused against the `listed` words (folded, as
/// the store keeps them). Pure: `total` and `preview` are left for the caller.
pub fn plan_word_import(
    lines: &[WordLine],
    listed: &[String],
    options: WordImportOptions,
) -> WordImportReport {
    let mut keys: HashMap<String, (String, Option<u32>)> = listed
        .iter()
        .map(|w| (match_key(w), (w.clone(), None)))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let mut report = WordImportReport {
        added: Vec::new(),
        duplicates: Vec::new(),
        refused: Vec::new(),
        warnings: Vec::new(),
        categories: Vec::new(),
        total: 0,
        preview: options.preview,
        message: String::new(),
    };
    for l in lines {
        let mut refuse_line = |reason: String| {
            let text = match &l.category {
                Some(c) => format!("{},{c}", l.word),
                None => l.word.clone(),
            };
            report.refused.push(RefusedLine {
                line: l.line,
                text: shown(&text),
                reason,
            });
        };
        if l.category
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CATEGORY_CHARS)
        {
            refuse_line(format!("分类超过{MAX_CATEGORY_CHARS}个字"));
            continue;
        }
        let Some(word) = fold_word(&l.word) else {
            if l.word.chars().count() > MAX_WORD_CHARS {
                refuse_line(format!("词超过{MAX_WORD_CHARS}个字"));
            } else {
                refuse_line("没有词".into());
            }
            continue;
        };
        let key = match_key(&word);
        let key_chars = key.chars().count();
        if key_chars == 0 {
            refuse_line("去掉符号和空格后没有文字,什么也匹配不到".into());
            continue;
        }
        if key_chars == 1 && !options.allow_single_characters {
            refuse_line(format!(
                "归一后只剩一个字「{key}」,会命中几乎所有含这个字的评论,默认不导入"
            ));
            continue;
        }
        if let Some((same_as, earlier_line)) = keys.get(&key) {
            report.duplicates.push(DuplicateWord {
                line: l.line,
                word: l.word.clone(),
                same_as: same_as.clone(),
                earlier_line: *earlier_line,
            });
            continue;
        }
        keys.insert(key.clone(), (word.clone(), Some(l.line)));
        if key_chars == 1 {
            report.warnings.push(WordWarning {
                line: l.line,
                word: word.clone(),
                message: format!("归一后只剩一个字「{key}」,会命中几乎所有含这个字的评论"),
            });
        } else if key_chars < 3 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
            report.warnings.push(WordWarning {
                line: l.line,
                word: word.clone(),
                message: "很短的字母词也会命中别的单词里的这几个字母".into(),
            });
        }
        let category = l.category.clone().unwrap_or_default();
        match report
            .categories
            .iter_mut()
            .find(|c| c.category == category)
        {
            Some(c) => c.words += 1,
            None => report.categories.push(CategoryCount { category, words: 1 }),
        }
        report.added.push(ImportedWord {
            line: l.line,
            word,
            category: l.category.clone(),
        });
    }
    report
}

fn summary(r: &WordImportReport) -> String {
    let mut parts = vec![format!(
        "{}{}个词",
        if r.preview { "将导入" } else { "已导入" },
        r.added.len()
    )];
    if !r.duplicates.is_empty() {
        parts.push(format!("{}个已在词库或前面的行里", r.duplicates.len()));
    }
    if !r.refused.is_empty() {
        parts.push(format!("{}行未导入", r.refused.len()));
    }
    if !r.warnings.is_empty() {
        parts.push(format!("{}个词请再看一下", r.warnings.len()));
    }
    let mut message = parts.join(",");
    if r.refused.iter().any(|l| l.reason.contains("一个字")) {
        message.push_str("。单字词会命中几乎所有评论,默认不导入");
    }
    if r.categories.iter().any(|c| !c.category.is_empty()) {
        message.push_str("。分类已读出,词库暂不保存分类");
    }
    message
}

/// Imports a word-list file (see the module doc); with `options.preview`, only reports.
/// Moderators only.
pub fn import_word_list(
    ctx: &Ctx,
    path: &Path,
    options: WordImportOptions,
) -> ApiResult<WordImportReport> {
    ctx.ensure_moderator()?;
    let bytes = crate::exchange::read_file_limited(path)?;
    import_word_bytes(ctx, &bytes, options)
}

/// [`import_word_list`] on the file's bytes.
pub fn import_word_bytes(
    ctx: &Ctx,
    bytes: &[u8],
    options: WordImportOptions,
) -> ApiResult<WordImportReport> {
    ctx.ensure_moderator()?;
    let text = crate::exchange::decode_text(bytes)?;
    let lines = parse_word_file(&text).map_err(ExchangeError::Invalid)?;
    if options.preview {
        let listed = ctx.store.read(store::words)?;
        let mut report = plan_word_import(&lines, &listed, options);
        report.total = u32::try_from(listed.len()).unwrap_or(u32::MAX);
        report.message = summary(&report);
        return Ok(report);
    }
    // Planned against the list inside the write, so a word added meanwhile counts as listed.
    let mut report = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let listed = store::words(tx.conn())?;
        let report = plan_word_import(&lines, &listed, options);
        if listed.len() + report.added.len() > MAX_WORDS {
            return Ok(Err(refuse(
                ErrorCode::ImportInvalid,
                "敏感词",
                format!(
                    "词库最多{MAX_WORDS}个词,现有{},这次要加{}",
                    listed.len(),
                    report.added.len()
                ),
            )));
        }
        if !report.added.is_empty() {
            let words: Vec<String> = report.added.iter().map(|w| w.word.clone()).collect();
            store::add_words(tx, &words)?;
        }
        Ok(Ok(report))
    })??;
    forget_word_list(ctx);
    report.total = u32::try_from(word_list(ctx)?.len()).unwrap_or(u32::MAX);
    report.message = summary(&report);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comments::{add_words, list_words};
    use chrono::{DateTime, Utc};
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        (dir, ctx)
    }

    fn plan(text: &str, listed: &[&str]) -> WordImportReport {
        let lines = parse_word_file(text).unwrap();
        let listed: Vec<String> = listed.iter().map(|w| w.to_string()).collect();
        plan_word_import(&lines, &listed, WordImportOptions::default())
    }

    fn added(r: &WordImportReport) -> Vec<&str> {
        r.added.iter().map(|w| w.word.as_str()).collect()
    }

    #[test]
    fn comments_blank_lines_and_a_bom_are_skipped() {
        let lines = parse_word_file(
            "\u{FEFF}# 县网信办 2024 版\n\n赌博\r\n  # 缩进的注释\n\u{FF03} 全角井号\n诈骗  \n",
        )
        .unwrap();
        let words: Vec<(u32, &str)> = lines.iter().map(|l| (l.line, l.word.as_str())).collect();
        assert_eq!(words, vec![(3, "赌博"), (6, "诈骗")]);
    }

    #[test]
    fn categories_follow_a_comma_a_tab_or_a_fullwidth_comma() {
        let r = plan(
            "赌博,赌博类\n诈骗\t诈骗类\n冰毒\u{FF0C}毒品类\n刷单\n代开发票,\n",
            &[],
        );
        let got: Vec<(&str, Option<&str>)> = r
            .added
            .iter()
            .map(|w| (w.word.as_str(), w.category.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("赌博", Some("赌博类")),
                ("诈骗", Some("诈骗类")),
                ("冰毒", Some("毒品类")),
                ("刷单", None),
                ("代开发票", None),
            ]
        );
        assert_eq!(
            r.categories.len(),
            4,
            "three categories and the words without one"
        );
        let mut r = r;
        r.preview = true;
        assert!(summary(&r).contains("词库暂不保存分类"));
    }

    #[test]
    fn duplicates_are_found_in_the_file_and_against_the_list_after_folding() {
        let r = plan(
            "赌博\n賭博\n赌 博\n诈骗\nＳＰＡＭ\n刷单刷单\n",
            &["诈骗", "spam"],
        );
        assert_eq!(added(&r), vec!["赌博", "刷单刷单"]);
        let dups: Vec<(u32, &str, Option<u32>)> = r
            .duplicates
            .iter()
            .map(|d| (d.line, d.same_as.as_str(), d.earlier_line))
            .collect();
        assert_eq!(
            dups,
            vec![
                (2, "赌博", Some(1)),
                (3, "赌博", Some(1)),
                (4, "诈骗", None),
                (5, "spam", None),
            ]
        );
    }

    #[test]
    fn one_character_words_are_refused_unless_asked_for() {
        let text = "杀\n哈哈哈\n赌博\n";
        let r = plan(text, &[]);
        assert_eq!(added(&r), vec!["赌博"]);
        let refused: Vec<u32> = r.refused.iter().map(|l| l.line).collect();
        assert_eq!(refused, vec![1, 2], "哈哈哈 is one character after folding");
        assert!(r.refused[0].reason.contains("几乎所有"));
        assert!(summary(&r).contains("单字词会命中几乎所有评论"));

        let lines = parse_word_file(text).unwrap();
        let options = WordImportOptions {
            allow_single_characters: true,
            preview: false,
        };
        let r = plan_word_import(&lines, &[], options);
        assert_eq!(added(&r), vec!["杀", "哈哈哈", "赌博"]);
        assert_eq!(r.warnings.len(), 2);
    }

    #[test]
    fn lines_too_long_or_without_letters_are_refused_with_their_line_number() {
        let long = "长".repeat(MAX_WORD_CHARS + 1);
        let r = plan(
            &format!(
                "赌博\n{long}\n***\n😀😀\n,没有词\n诈骗,{}\n",
                "类".repeat(21)
            ),
            &[],
        );
        assert_eq!(added(&r), vec!["赌博"]);
        let refused: Vec<u32> = r.refused.iter().map(|l| l.line).collect();
        assert_eq!(refused, vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_line_with_three_fields_or_binary_bytes_refuses_the_whole_file() {
        let problems = parse_word_file("赌博\n诈骗,诈骗类,高\n刷单\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].row, Some(2));
        assert!(parse_word_file("赌博\0\u{1}\n").is_err());
        assert!(parse_word_file("# 只有注释\n\n").is_err());
    }

    #[test]
    fn a_gbk_file_is_imported_and_reported() {
        let (d, ctx) = setup();
        add_words(&ctx, "诈骗").unwrap();
        let (bytes, _, had_errors) = encoding_rs::GBK
            .encode("# 敏感词\r\n赌博,赌博类\r\n賭博\r\n诈骗\r\n杀\r\n网络赌博\r\n");
        assert!(!had_errors);
        let path = d.path().join("words.txt");
        std::fs::write(&path, &bytes).unwrap();

        let preview = import_word_list(
            &ctx,
            &path,
            WordImportOptions {
                preview: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(preview.added.len(), 2);
        assert_eq!(
            list_words(&ctx).unwrap(),
            vec!["诈骗"],
            "a preview writes nothing"
        );

        let r = import_word_list(&ctx, &path, WordImportOptions::default()).unwrap();
        assert_eq!(added(&r), vec!["赌博", "网络赌博"]);
        assert_eq!(r.duplicates.len(), 2);
        assert_eq!(r.refused.len(), 1);
        assert_eq!(r.total, 3);
        assert_eq!(
            r.message,
            "已导入2个词,2个已在词库或前面的行里,1行未导入。单字词会命中几乎所有评论,默认不导入。分类已读出,词库暂不保存分类"
        );
        assert_eq!(list_words(&ctx).unwrap(), vec!["网络赌博", "诈骗", "赌博"]);

        let again = import_word_list(&ctx, &path, WordImportOptions::default()).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.total, 3);
    }

    #[test]
    fn a_utf8_file_with_a_bom_is_imported() {
        let (_d, ctx) = setup();
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("赌博\n诈骗\n".as_bytes());
        let r = import_word_bytes(&ctx, &bytes, WordImportOptions::default()).unwrap();
        assert_eq!(added(&r), vec!["赌博", "诈骗"]);
        assert_eq!(list_words(&ctx).unwrap(), vec!["诈骗", "赌博"]);
    }

    #[test]
    fn a_structural_error_imports_nothing() {
        let (_d, ctx) = setup();
        let e = import_word_bytes(
            &ctx,
            "赌博\n诈骗,a,b\n".as_bytes(),
            WordImportOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::ImportInvalid);
        assert!(list_words(&ctx).unwrap().is_empty());
    }
}
