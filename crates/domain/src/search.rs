//! "Vorgang suchen": German-friendly matching rules shared by the storage backends (which
//! index and query) and the web layer (which highlights). Pure functions, no I/O.
//!
//! Text is *folded* before it is indexed and before it is searched, with the same function,
//! so that both sides meet: lower case; `ß` → `ss`; `ä`/`ae` → `a`, `ö`/`oe` → `o`,
//! `ü`/`ue` → `u` (so "Müller", "Mueller" and "Muller" are one word); other Latin diacritics
//! are stripped (`é` → `e`, `ç` → `c`, `ø` → `o` …). Everything that is not `[a-z0-9]`
//! afterwards separates words. A search term matches a word when the word's folded form
//! starts with the term (prefix search: "Müll" finds "Müller"); all terms must match.
//!
//! Folding a prefix of a word always yields a prefix of the folded word (the digraph rules
//! only ever drop the `e` after `a`/`o`/`u`), so prefix search stays correct while typing.

use crate::formdata::FormItem;

/// At most this many terms of a query are used; further ones are ignored.
pub const MAX_TERMS: usize = 8;
/// Shorter terms are ignored: a single letter or digit starts nearly every Vorgang's words
/// and would only make the search slow.
pub const MIN_TERM_LEN: usize = 2;
/// A hit's snippet is cut to this many characters.
pub const MAX_SNIPPET_CHARS: usize = 300;
/// Longer terms are cut to this many characters (a prefix still matches).
pub const MAX_TERM_LEN: usize = 40;
/// The searchable form-data text of one Vorgang is cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Separates the values in [`form_text`].
pub const VALUE_SEPARATOR: &str = " · ";

/// The folded form of one lower-case character, if it is not kept as it is.
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ü' | 'ù' | 'ú' | 'û' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// The folded text: lower case, German umlauts and `ß` spelled out the same way whether
/// typed with or without umlaut, other diacritics stripped. Characters outside `[a-z0-9]`
/// stay (they separate words for [`tokens`]).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        // Combining marks (decomposed text: "u" + U+0308 for "ü") go: the base letter is
        // what the precomposed letter folds to anyway.
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            continue;
        }
        let folded = fold_char(c);
        // "ae" → "a", "oe" → "o", "ue" → "u": the `e` (or `é` …) of a spelled-out umlaut is
        // dropped.
        if (c == 'e' || folded == Some("e")) && matches!(out.as_bytes().last(), Some(b'a' | b'o' | b'u')) {
            continue;
        }
        match folded {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    // "æ"/"œ" produce "ae"/"oe" that must fold like typed ones.
    if out.contains("ae") || out.contains("oe") {
        return fold(&out);
    }
    out
}

/// The words of `text` as they are indexed: folded, split at everything but `[a-z0-9]`.
pub fn tokens(text: &str) -> impl Iterator<Item = String> {
    fold(text)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The search terms of what a clerk typed: folded `[a-z0-9]+` tokens, without duplicates,
/// at most [`MAX_TERMS`], each at most [`MAX_TERM_LEN`] long. Nothing else reaches a query,
/// so a backend can put them into its full-text syntax without escaping. Empty: no search.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for mut t in tokens(query) {
        if t.len() < MIN_TERM_LEN {
            continue;
        }
        t.truncate(MAX_TERM_LEN);
        // A term that is a prefix of another adds nothing (every word the longer one
        // matches, it matches too): keep the longer.
        if terms.iter().any(|o| o.starts_with(&t)) {
            continue;
        }
        terms.retain(|o| !t.starts_with(o.as_str()));
        terms.push(t);
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// Whether `term` is what [`terms`] hands out (`[a-z0-9]+`, not too long): what backends
/// check before putting a term into their query syntax.
pub fn is_term(term: &str) -> bool {
    !term.is_empty() && term.len() <= MAX_TERM_LEN && term.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The text of all values of the form-data tree, in document order, separated by
/// [`VALUE_SEPARATOR`] and cut to [`MAX_TEXT_BYTES`]: what is searched and what a hit's
/// snippet is taken from. Labels are not part of it (they are the same in every Antrag).
pub fn form_text(items: &[FormItem]) -> String {
    fn walk(items: &[FormItem], out: &mut String) {
        for item in items {
            if out.len() >= MAX_TEXT_BYTES {
                return;
            }
            if let Some(v) = &item.value {
                // Control characters (a NUL, say) are no text, and PostgreSQL refuses NUL.
                let v: String = v.display().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
                let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                if !v.is_empty() {
                    if !out.is_empty() {
                        out.push_str(VALUE_SEPARATOR);
                    }
                    out.push_str(&v);
                }
            }
            walk(&item.items, out);
        }
    }
    let mut out = String::new();
    walk(items, &mut out);
    truncate_at_char(&mut out, MAX_TEXT_BYTES);
    out
}

fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The searchable fields of a Vorgang.
#[derive(Debug, Clone, Copy)]
pub struct Searchable<'a> {
    pub nummer: &'a str,
    pub aktenzeichen: Option<&'a str>,
    pub applicant_name: Option<&'a str>,
    pub form_name: &'a str,
    /// [`form_text`] of its form data.
    pub form_text: &'a str,
}

impl Searchable<'_> {
    /// What the backends index: the folded words of all fields, separated by single
    /// spaces (only `[a-z0-9 ]`, so any full-text tokenizer splits it the same way).
    pub fn index_text(&self) -> String {
        let parts =
            [Some(self.nummer), self.aktenzeichen, self.applicant_name, Some(self.form_name), Some(self.form_text)];
        let mut out = String::new();
        for t in parts.into_iter().flatten().flat_map(tokens) {
            if !out.is_empty() {
                out.push(' ');
            }
            // Longer words cannot be typed usefully; keep the index entries bounded.
            out.push_str(&t[..t.len().min(2 * MAX_TERM_LEN)]);
        }
        out
    }
}

/// Whether a word (any text; it is folded and split like indexed text) is a hit: one of its
/// folded words starts with one of the terms.
pub fn is_hit(word: &str, terms: &[String]) -> bool {
    tokens(word).any(|w| terms.iter().any(|t| w.starts_with(t.as_str())))
}

/// Whether every term matches some word of `text` (the backends' rule, for checks).
pub fn matches_all(text: &str, terms: &[String]) -> bool {
    let words: Vec<String> = tokens(text).collect();
    terms.iter().all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
}

/// A piece of a text for display: marked when it is a search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// The byte ranges of the words of `text` (maximal runs of alphanumeric characters).
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The byte ranges of the words of the original (unfolded) `text` that are hits.
pub fn hit_ranges(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    if terms.is_empty() {
        return Vec::new();
    }
    words(text).into_iter().filter(|&(s, e)| is_hit(&text[s..e], terms)).collect()
}

/// `text` cut into segments, the hits marked: the display layer renders marked segments
/// as `<mark>` and escapes all of them. Without terms: one unmarked segment.
pub fn highlight(text: &str, terms: &[String]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (s, e) in hit_ranges(text, terms) {
        if s > pos {
            out.push(Segment { text: text[pos..s].to_owned(), hit: false });
        }
        out.push(Segment { text: text[s..e].to_owned(), hit: true });
        pos = e;
    }
    if pos < text.len() || out.is_empty() {
        out.push(Segment { text: text[pos..].to_owned(), hit: false });
    }
    out
}

/// A short window of `text` (at most `max_words` whitespace-separated words) around its
/// first hit, with `…` where it was cut; `None` when no word of `text` is a hit.
pub fn snippet(text: &str, terms: &[String], max_words: usize) -> Option<String> {
    let chunks: Vec<&str> = text.split_whitespace().collect();
    let first = chunks.iter().position(|c| is_hit(c, terms))?;
    let max_words = max_words.max(1);
    // A little context before the hit, the rest after it.
    let start = first.saturating_sub(max_words / 4).min(chunks.len().saturating_sub(max_words));
    let end = (start + max_words).min(chunks.len());
    let mut out = String::new();
    if start > 0 {
        out.push_str("… ");
    }
    out.push_str(&chunks[start..end].join(" "));
    if out.chars().count() > MAX_SNIPPET_CHARS {
        // One endless "word" (Base64 in a field, say) must not fill the page.
        out = out.chars().take(MAX_SNIPPET_CHARS).collect();
        out.push_str(" …");
    } else if end < chunks.len() {
        out.push_str(" …");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formdata::FormValue;

    fn t(q: &str) -> Vec<String> {
        terms(q)
    }

    #[test]
    fn decomposed_umlauts_control_characters_and_short_terms() {
        assert_eq!(fold("Mu\u{0308}ller"), fold("Müller"));
        assert_eq!(fold("Müéller"), fold("Mueller"), "an accented e after an umlaut folds like e");
        assert_eq!(terms("a b Mü"), vec!["mu".to_owned()], "single characters are no terms");
        let items = vec![FormItem {
            name: "x".into(),
            label: Some("X".into()),
            value: Some(FormValue::String("Kla\u{0}ra\u{7}".into())),
            items: vec![],
        }];
        assert!(!form_text(&items).chars().any(char::is_control), "{:?}", form_text(&items));
        let long = format!("Treffer {}", "x".repeat(10_000));
        let s = snippet(&long, &terms("treffer"), 14).expect("hit");
        assert!(s.chars().count() <= MAX_SNIPPET_CHARS + 2, "{}", s.len());
    }

    #[test]
    fn umlauts_and_sharp_s_meet() {
        for spelling in ["Müller", "Mueller", "Muller", "MÜLLER", "MUELLER", "müller"] {
            assert_eq!(fold(spelling), "muller", "{spelling}");
        }
        assert_eq!(fold("Straße"), fold("Strasse"));
        assert_eq!(fold("STRASSE"), "strasse");
        assert_eq!(fold("Größe"), fold("Groesse"));
        assert_eq!(fold("Café Crème"), "cafe creme");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Bäckerei"), fold("Baeckerei"));
        assert_eq!(fold("Œuvre"), fold("oeuvre"));
    }

    #[test]
    fn folding_a_prefix_gives_a_prefix() {
        for word in ["Mueller", "Feuerwehr", "Straße", "Größe", "Baeume", "Quelle", "Aeußerung"] {
            let folded = fold(word);
            for (i, _) in word.char_indices().skip(1) {
                assert!(folded.starts_with(&fold(&word[..i])), "{word}: {} vs {folded}", &word[..i]);
            }
        }
    }

    #[test]
    fn terms_are_safe_tokens() {
        assert_eq!(t("  Müller  Klara "), vec!["muller", "klara"]);
        assert_eq!(t("31005-FFBZK6"), vec!["31005", "ffbzk6"]);
        assert_eq!(
            t("\"xy\"* OR NEAR(ab cd) ' ; DROP TABLE --"),
            vec!["xy", "or", "near", "ab", "cd", "drop", "table"]
        );
        assert_eq!(t("ab:* & !cd | ef"), vec!["ab", "cd", "ef"]);
        assert!(t("   --- !!! ").is_empty());
        assert!(t("").is_empty());
        assert_eq!(t("müll müller"), vec!["muller"], "a prefix of another term adds nothing");
        assert_eq!(t("aa bb cc dd ee ff gg hh ii jj kk").len(), MAX_TERMS);
        assert_eq!(t(&"x".repeat(100))[0].len(), MAX_TERM_LEN);
        for term in t("Ünïcödé „Zitat“ 😀 日本 Straße ΑΒΓ") {
            assert!(is_term(&term), "{term}");
        }
        assert!(!is_term("a b") && !is_term("A") && !is_term("") && !is_term("\"x\""));
    }

    #[test]
    fn prefix_and_and_semantics() {
        let text = "Müller-Lüdenscheidt, Klara · Hauptstraße 1a";
        assert!(matches_all(text, &t("müll")));
        assert!(matches_all(text, &t("MUELL klar")));
        assert!(matches_all(text, &t("ludensch hauptstrasse 1a")));
        assert!(!matches_all(text, &t("strasse")), "compound words match from their start only");
        assert!(!matches_all(text, &t("müll otto")));
        assert!(!matches_all(text, &t("uller")), "prefixes only, not infixes");
    }

    #[test]
    fn highlighting_marks_whole_words_of_the_original() {
        let segs = highlight("Müller, Klara <script>", &t("mueller script"));
        assert_eq!(
            segs,
            vec![
                Segment { text: "Müller".into(), hit: true },
                Segment { text: ", Klara <".into(), hit: false },
                Segment { text: "script".into(), hit: true },
                Segment { text: ">".into(), hit: false },
            ]
        );
        assert_eq!(highlight("Straße", &t("stras")), vec![Segment { text: "Straße".into(), hit: true }]);
        assert_eq!(highlight("abc", &[]), vec![Segment { text: "abc".into(), hit: false }]);
        assert_eq!(highlight("", &t("x")), vec![Segment { text: String::new(), hit: false }]);
        assert_eq!(hit_ranges("31005-FFBZK6", &t("ffb")), vec![(6, 12)]);
    }

    #[test]
    fn snippet_is_a_window_around_the_first_hit() {
        let text = "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf";
        assert_eq!(snippet(text, &t("neun"), 4).as_deref(), Some("… acht neun zehn elf …"));
        assert_eq!(snippet(text, &t("eins"), 3).as_deref(), Some("eins zwei drei …"));
        assert_eq!(snippet(text, &t("zwolf"), 3).as_deref(), Some("… zehn elf zwölf"));
        assert_eq!(snippet("kurz", &t("kurz"), 10).as_deref(), Some("kurz"));
        assert_eq!(snippet(text, &t("dreizehn"), 4), None);
    }

    #[test]
    fn form_text_holds_the_values_only() {
        let items = vec![
            FormItem::group(
                "antragsteller",
                "Antragsteller",
                vec![
                    FormItem::field("vorname", "Vorname", FormValue::String("Klara".into())),
                    FormItem::field("strasse", "Straße", FormValue::String("Holsten\nstraße  12".into())),
                ],
            ),
            FormItem::field("geburt", "Geburtsdatum", FormValue::Date("1990-04-01".into())),
            FormItem::field("ja", "Zustimmung", FormValue::Boolean(true)),
            FormItem { name: "leer".into(), label: None, value: None, items: vec![] },
        ];
        assert_eq!(form_text(&items), "Klara · Holsten straße 12 · 01.04.1990 · Ja");
        let big = vec![FormItem::field("x", "X", FormValue::String("ä".repeat(MAX_TEXT_BYTES)))];
        assert!(form_text(&big).len() <= MAX_TEXT_BYTES);
    }

    #[test]
    fn index_text_covers_all_fields() {
        let s = Searchable {
            nummer: "31005-FFBZK6",
            aktenzeichen: Some("II/2024-17"),
            applicant_name: Some("Müller, Klara"),
            form_name: "Gewerbeanmeldung",
            form_text: "Onlinehandel · Hafenstraße 1",
        };
        assert_eq!(s.index_text(), "31005 ffbzk6 ii 2024 17 muller klara gewerbeanmeldung onlinehandel hafenstrasse 1");
    }
}
