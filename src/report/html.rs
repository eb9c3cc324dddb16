//! HTML building blocks for the self-contained report: escaping, tables, figures as data URIs,
//! the page with its inline stylesheet, and UTC dates from Unix seconds.

use super::figures::{Figure, Outcome};
use base64::Engine;

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row; every cell is escaped. Columns whose header starts with `#` are
/// right-aligned numbers (the `#` is not shown).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table>\n<thead><tr>");
    let numeric: Vec<bool> = header.iter().map(|h| h.starts_with('#')).collect();
    for h in header {
        s += &format!("<th>{}</th>", escape(h.trim_start_matches('#')));
    }
    s += "</tr></thead>\n<tbody>\n";
    for row in rows {
        s += "<tr>";
        for (k, cell) in row.iter().enumerate() {
            if numeric.get(k).copied().unwrap_or(false) {
                s += &format!("<td class=\"num\">{}</td>", escape(cell));
            } else {
                s += &format!("<td>{}</td>", escape(cell));
            }
        }
        s += "</tr>\n";
    }
    s + "</tbody>\n</table>\n"
}

/// A two-column key/value table (keys in the first column).
pub fn key_values(rows: &[(&str, String)]) -> String {
    let mut s = String::from("<table class=\"kv\">\n<tbody>\n");
    for (k, v) in rows {
        s += &format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(k), escape(v));
    }
    s + "</tbody>\n</table>\n"
}

/// A note that something could not be shown, and why.
pub fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>\n", escape(text))
}

/// A figure as an embedded PNG with its heading and caption, or a note when it was skipped.
pub fn figure(f: &Figure) -> String {
    match &f.outcome {
        Outcome::Written { png, files } => format!(
            "<figure id=\"fig-{name}\">\n<h3>{heading}</h3>\n<img src=\"data:image/png;base64,{data}\" alt=\"{heading}\">\n\
             <figcaption>{caption} <span class=\"files\">figures/{files}</span></figcaption>\n</figure>\n",
            name = escape(f.name),
            heading = escape(f.heading),
            data = base64::engine::general_purpose::STANDARD.encode(png),
            caption = escape(f.caption),
            files = escape(&files.join(", figures/")),
        ),
        Outcome::Skipped(reason) => format!(
            "<h3>{}</h3>\n{}",
            escape(f.heading),
            note(&format!("Figure skipped: {reason}."))
        ),
    }
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1.5em; color: #222; line-height: 1.45; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-bottom: 0.4em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
thead th { background: #f2f2f2; }
table.kv th { background: #f7f7f7; font-weight: normal; color: #555; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td { overflow-wrap: anywhere; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.95em; max-width: 60em; }
.files { color: #888; font-size: 0.9em; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; }
.lead { color: #555; }
footer { margin-top: 3em; color: #888; font-size: 0.85em; }
";

/// The whole page: `title`, then `body` (already HTML), with the inline stylesheet.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        t = escape(title)
    )
}

/// `unix_s` as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn utc(unix_s: f64) -> String {
    let secs = unix_s.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds as `12.3 s`, `4 min 05 s` or `2 h 03 min`.
pub fn duration(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!(
            "{} h {:02.0} min",
            (s / 3600.0).floor(),
            (s % 3600.0) / 60.0
        )
    }
}

/// A number with 4 significant digits (scientific for very small or large values).
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "–".into();
    }
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<b>L2/3 & \"Sst\" 'x'</b>"),
            "&lt;b&gt;L2/3 &amp; &quot;Sst&quot; &#39;x&#39;&lt;/b&gt;"
        );
        let t = table(&["name", "#n"], &[vec!["<i>".into(), "3".into()]]);
        assert!(t.contains("<td>&lt;i&gt;</td><td class=\"num\">3</td>"));
        assert!(!t.contains("<i>"));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_733_746.82), "2026-11-26 22:55:46 UTC");
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(num(0.073598), "0.07360");
        assert_eq!(num(12.5), "12.50");
        assert_eq!(num(-2.0e-5), "-2.000e-5");
        assert_eq!(duration(8.64), "8.6 s");
        assert_eq!(duration(125.0), "2 min 05 s");
    }
}
