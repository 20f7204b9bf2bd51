//! The book, tested as a person would read it: built with `pagelab book` and mdBook, then
//! every page opened in a real browser (Debian's headless Chromium). Every claim line of
//! every lesson has its verdict, every figure renders with as many cells as it says, every
//! internal link resolves, and the browser's console stays silent. Screenshots of lesson 01
//! and of the Kernels page go to target/book-shots/.
//!
//! Where mdbook or chromium is missing (a student's machine), the test says so and passes:
//! nothing of the book is needed to build or test the crate.
//!
//! The other tests read the book's source (`pagelab book --source-only`, no mdBook needed)
//! as written from result files made for them: what it says of configurations and verdicts.

use pagelab::catalog::{Catalog, Source};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a page may take to load and render in the browser.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Browsers running at once: the machine has two cores.
const AT_ONCE: usize = 3;

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

fn chromium() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        Some(debian)
    } else {
        on_path("chromium")
    }
}

/// What the browser gave for one page: the DOM after its scripts ran, and its console.
struct Opened {
    dom: String,
    console: Vec<String>,
}

/// Runs headless Chromium with `args` on `url` in its own process group and a fresh profile,
/// killing the whole group when it is done or late, so no browser process outlives the test.
fn browse(chromium: &Path, url: &str, args: &[&str]) -> Result<Opened, String> {
    let profile = tempfile::tempdir().map_err(|e| format!("a profile directory: {e}"))?;
    let out = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let err = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out.reopen().map_err(|e| e.to_string())?)
        .stderr(err.reopen().map_err(|e| e.to_string())?)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", chromium.display()))?;
    let group = child.id() as i32;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > PAGE_TIMEOUT => {
                break Err(format!("{url}: no answer in {PAGE_TIMEOUT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("{url}: waiting for chromium: {e}")),
        }
    };
    // SAFETY: signals the process group this test started, by its id; ESRCH is fine.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let status = status?;
    let dom = std::fs::read_to_string(out.path()).unwrap_or_default();
    let log = std::fs::read_to_string(err.path()).unwrap_or_default();
    if !status.success() {
        return Err(format!("{url}: chromium exited with {status}:\n{log}"));
    }
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Ok(Opened { dom, console })
}

/// Every `name="value"` attribute in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// The elements that open with `<{tag}` and carry class `class`, each as its opening tag up
/// to and including its closing one (not nested in one another).
fn elements<'a>(html: &'a str, tag: &str, class: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = html[at..].find(&open).map(|i| i + at) {
        let head_end = html[start..].find('>').map_or(html.len(), |i| start + i);
        let end = html[start..]
            .find(&close)
            .map_or(html.len(), |i| start + i + close.len());
        if html[start..head_end].contains(class) {
            found.push(&html[start..end]);
        }
        at = end.max(start + 1);
    }
    found
}

fn number(attribute: Option<&&str>) -> usize {
    attribute.and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A figure renders when it has cells, as many as it says, covering its pages.
fn check_figure(page: &str, svg: &str) -> Result<(), String> {
    let head = &svg[..svg.find('>').unwrap_or(svg.len())];
    let cells = number(attributes(head, "data-cells").first());
    let pages = number(attributes(head, "data-pages").first());
    let rects: Vec<&str> = svg
        .match_indices("<rect class=\"cell")
        .map(|(i, _)| &svg[i..])
        .collect();
    let heads: Vec<&str> = rects
        .iter()
        .map(|r| &r[..r.find('>').unwrap_or(r.len())])
        .collect();
    let drawn: usize = heads
        .iter()
        .map(|h| number(attributes(h, "data-n").first()))
        .sum();
    let covered: usize = heads
        .iter()
        .map(|h| number(attributes(h, "data-p").first()))
        .sum();
    let what = &head[..head.len().min(160)];
    if cells == 0 || rects.is_empty() {
        return Err(format!("{page}: an empty figure: {what}"));
    }
    if drawn != cells {
        return Err(format!(
            "{page}: figure says {cells} cells, draws {drawn}: {what}"
        ));
    }
    if head.contains("residency-map") && covered != pages {
        return Err(format!(
            "{page}: figure of {pages} pages covers {covered}: {what}"
        ));
    }
    Ok(())
}

/// Every claim line of the lesson has its verdict element in the page.
fn check_verdicts(page: &str, dom: &str, lines: &[usize]) -> Result<(), String> {
    let verdicts: BTreeMap<usize, &str> = elements(dom, "details", "claim-line")
        .iter()
        .filter_map(|e| {
            let head = &e[..e.find('>')?];
            let line = attributes(head, "data-line").first()?.parse().ok()?;
            Some((line, *attributes(head, "data-verdict").first()?))
        })
        .collect();
    for line in lines {
        match verdicts.get(line) {
            Some(&("held" | "failed" | "skipped")) => {}
            other => {
                return Err(format!(
                    "{page}: claim at line {line} has no verdict ({other:?})"
                ));
            }
        }
    }
    if !dom.contains("class=\"verdict ") {
        return Err(format!("{page}: no verdict element"));
    }
    Ok(())
}

/// Every link and resource reference that stays inside the book resolves: the file exists,
/// and a fragment names an id of the page it points to.
fn check_links(
    site: &Path,
    page: &str,
    dom: &str,
    ids: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), String> {
    let mut targets = attributes(dom, "href");
    targets.extend(attributes(dom, "src"));
    for target in targets {
        if target.is_empty() || target.contains(':') {
            continue;
        }
        let target = target.split('?').next().unwrap_or("");
        let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
        let file = if file.is_empty() { page } else { file };
        if !site.join(file).is_file() {
            return Err(format!("{page}: link to {target}: {file} does not exist"));
        }
        if let (false, Some(known)) = (fragment.is_empty(), ids.get(file))
            && !known.contains(fragment)
        {
            return Err(format!(
                "{page}: link to {target}: {file} has no id `{fragment}`"
            ));
        }
    }
    Ok(())
}

/// The book's pages, in SUMMARY.md's order.
fn summary_pages(source: &Path) -> Vec<String> {
    let summary = std::fs::read_to_string(source.join("src/SUMMARY.md")).unwrap();
    summary
        .match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &summary[at + 2..];
            Some(rest[..rest.find(')')?].replace(".md", ".html"))
        })
        .collect()
}

/// Opens `pages` at most [`AT_ONCE`] at a time.
fn open_all(
    chromium: &Path,
    site: &Path,
    pages: &[String],
) -> BTreeMap<String, Result<Opened, String>> {
    let next = std::sync::Mutex::new(pages.iter());
    let opened = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| {
                while let Some(page) = {
                    let mut next = next.lock().unwrap();
                    next.next()
                } {
                    let url = format!("file://{}", site.join(page).display());
                    let result = browse(chromium, &url, &["--dump-dom"]);
                    opened.lock().unwrap().insert(page.clone(), result);
                }
            });
        }
    });
    opened.into_inner().unwrap()
}

fn screenshots(chromium: &Path, site: &Path) -> Result<Vec<PathBuf>, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("book-shots");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut shots = Vec::new();
    for (page, name, size) in [
        ("01-mmap-anon.html", "lesson-01.png", "1280,7200"),
        ("kernels.html", "kernels.png", "1280,2400"),
    ] {
        let path = dir.join(name);
        let url = format!("file://{}", site.join(page).display());
        let shot = format!("--screenshot={}", path.display());
        browse(chromium, &url, &[&shot, &format!("--window-size={size}")])?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size < 10_000 {
            return Err(format!(
                "{}: a screenshot of {size} bytes is blank",
                path.display()
            ));
        }
        shots.push(path);
    }
    Ok(shots)
}

/// `n` result files, each this host's own `check --format json`, labelled as copies: the
/// squares beside every claim and the Kernels grid then have columns to show.
fn host_results(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let json = Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let mut result: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    for i in 1..=n {
        result["machine"]["label"] = format!("copy {i} of this host's result (test data)").into();
        let path = dir.path().join(format!("host-copy-{i:02}.json"));
        std::fs::write(path, result.to_string()).unwrap();
    }
    dir
}

#[test]
fn every_page_of_the_book_shows_its_proof_in_a_browser() {
    // A browser takes some 15 s for the whole book: plain `cargo test` stays quick, and asks.
    if std::env::var_os("PAGELAB_BROWSER").is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "book: SKIPPED: the browser test runs with PAGELAB_BROWSER=1 (it needs mdbook and chromium; .ci/run sets it)"
        );
        return;
    }
    let (Some(_), Some(chromium)) = (on_path("mdbook"), chromium()) else {
        // Straight to stderr, past the test harness's capture: a skip must never pass unseen.
        let _ = writeln!(
            std::io::stderr(),
            "book: SKIPPED: needs `mdbook` on PATH and Debian's chromium (/usr/bin/chromium); `just mdbook` installs mdbook, .ci/run also chromium"
        );
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let results = host_results(2);
    let built = Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .arg("book")
        .arg(out.path())
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "pagelab book: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let site = out.path().join("html");
    let pages = summary_pages(out.path());
    assert!(pages.len() >= 12, "{pages:?}");
    let opened = open_all(&chromium, &site, &pages);
    let mut doms = BTreeMap::new();
    for (page, result) in opened {
        let opened = result.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            opened.console.is_empty(),
            "{page}: the console says:\n{}",
            opened.console.join("\n")
        );
        doms.insert(page, opened.dom);
    }
    let ids: BTreeMap<String, BTreeSet<String>> = doms
        .iter()
        .map(|(page, dom)| {
            (
                page.clone(),
                attributes(dom, "id")
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            )
        })
        .collect();
    let catalog = Catalog::open(&Source::from_env()).unwrap();
    let mut figures = 0;
    for (page, dom) in &doms {
        check_links(&site, page, dom, &ids).unwrap();
        // The book's own figures; mdBook's icons are inline SVG too.
        for svg in elements(dom, "svg", "data-cells=") {
            check_figure(page, svg).unwrap();
            figures += 1;
        }
        let lesson = catalog.lessons.iter().find(|l| {
            l.path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().replace(".md", ".html") == *page)
        });
        if let Some(lesson) = lesson {
            let lines: Vec<usize> = lesson
                .blocks
                .iter()
                .flat_map(|b| b.claims.iter().map(|c| c.line))
                .collect();
            check_verdicts(page, dom, &lines).unwrap();
        }
    }
    let lesson_01 = &doms["01-mmap-anon.html"];
    // Each block up to the next: its head, its condition in words, its lines.
    let branches = lesson_01
        .split("<div class=\"claim-block\"")
        .skip(1)
        .filter(|b| {
            b.contains("data-step=\"one-byte-written\"")
                && b.contains("class=\"claim-where\"")
                && b.contains("data-verdict=")
        })
        .count();
    assert!(
        branches >= 3,
        "lesson 01 shows its one-byte branches with their conditions: {branches}"
    );
    assert!(figures >= 20, "{figures} figures");
    let shots = screenshots(&chromium, &site).unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "book: {} pages and {figures} figures checked in the browser; screenshots: {shots:?}",
        doms.len()
    );
}

/// This host's `pagelab check --format json` (with `--exercises` where asked), to be
/// edited into other machines' result files: run once a test binary for each, as each run
/// performs every experiment.
fn host_check(exercises: bool) -> serde_json::Value {
    static CHECKED: [std::sync::OnceLock<serde_json::Value>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    CHECKED[usize::from(exercises)]
        .get_or_init(|| run_host_check(exercises))
        .clone()
}

fn run_host_check(exercises: bool) -> serde_json::Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pagelab"));
    command.args(["check", "--format", "json"]);
    if exercises {
        command.arg("--exercises");
    }
    let output = command.output().unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "check --format json: {e}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `result` relabelled `label`.
fn labelled(result: &serde_json::Value, label: &str) -> serde_json::Value {
    let mut result = result.clone();
    result["machine"]["label"] = label.into();
    result
}

/// `pagelab book` with these result files, in this order, into a directory of its own
/// (`book/` in the one returned): the source only, or the site built by mdBook too. The
/// book runs as a process of its own: its experiments fork, which no other test's mapping
/// may see.
fn write_book(results: &[serde_json::Value], source_only: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("results");
    std::fs::create_dir(&files).unwrap();
    for (i, result) in results.iter().enumerate() {
        std::fs::write(files.join(format!("{i:02}.json")), result.to_string()).unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_pagelab"));
    command.arg("book").arg(dir.path().join("book"));
    if source_only {
        command.arg("--source-only");
    }
    if !results.is_empty() {
        command.arg("--results").arg(&files);
    }
    let built = command.output().unwrap();
    assert!(
        built.status.success(),
        "pagelab book: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    dir
}

/// The files of `dir` whose names end in `ext`, by name.
fn read_all(dir: &Path, ext: &str) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The source `pagelab book --source-only` writes with these result files: every page of
/// `src/` by name, and `book.toml`.
fn book_source(results: &[serde_json::Value]) -> BTreeMap<String, String> {
    let dir = write_book(results, true);
    let out = dir.path().join("book");
    let mut pages = read_all(&out.join("src"), ".md");
    pages.insert(
        "book.toml".into(),
        std::fs::read_to_string(out.join("book.toml")).unwrap(),
    );
    pages
}

/// The Kernels table's rows as (number, configuration).
fn kernels_rows(kernels: &str) -> Vec<(String, String)> {
    kernels
        .split("<tr title=")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row
                .split("<td>")
                .skip(1)
                .map(|c| &c[..c.find("</td>").unwrap()])
                .collect();
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect()
}

/// The claim line at `line` of a chapter, up to its end.
fn claim_line(chapter: &str, line: usize) -> &str {
    let at = chapter
        .find(&format!(" id=\"l{line}\""))
        .unwrap_or_else(|| panic!("no claim line {line}"));
    &chapter[at..at + chapter[at..].find("</details>").unwrap()]
}

#[test]
fn squares_are_numbered_as_the_kernels_chapter_numbers_configurations() {
    let host = host_check(false);
    let book = book_source(&[labelled(&host, "a"), labelled(&host, "b")]);
    let rows = kernels_rows(&book["kernels.md"]);
    assert_eq!(
        rows,
        [("1", "this build"), ("2", "a"), ("3", "b")].map(|(n, l)| (n.to_owned(), l.to_owned()))
    );
    let chapter = &book["01-mmap-anon.md"];
    let first = host["lessons"][0]["claims"][0]["line"].as_u64().unwrap() as usize;
    let line = claim_line(chapter, first);
    let squares: Vec<&str> = line
        .split("class=\"sq ")
        .skip(1)
        .map(|sq| attributes(sq, "title")[0])
        .collect();
    assert_eq!(squares.len(), 2, "{line}");
    assert!(
        squares[0].starts_with("2 a:") && squares[1].starts_with("3 b:"),
        "{squares:?}"
    );
    // Both are copies of this build's checks: a claim that held here held in both.
    if line.contains("data-verdict=\"held\"") {
        assert!(
            line.contains("Held in all 2 other configurations 2–3 too"),
            "{line}"
        );
    }
    assert!(
        chapter.contains("this claim in configurations 2–3 of the"),
        "{chapter}"
    );
    assert!(
        book["introduction.md"].contains("chapter from 2 on, numbered as there"),
        "{}",
        book["introduction.md"]
    );
}

/// `result` as a configuration that never ran.
fn broken(result: &serde_json::Value, label: &str) -> serde_json::Value {
    let mut file = serde_json::json!({
        "format": result["format"],
        "lessons_digest": result["lessons_digest"],
        "machine": {"label": label, "arch": "aarch64", "libc": "musl"},
        "broken": {"why": "no begin marker on the console", "console_tail": "Kernel panic - not syncing"},
    });
    file["seconds"] = 2.0.into();
    file
}

/// The Kernels table's row of configuration `label`.
fn kernels_row<'a>(kernels: &'a str, label: &str) -> &'a str {
    let at = kernels
        .find(&format!("<td>{label}</td>"))
        .unwrap_or_else(|| panic!("no row {label}"));
    let start = kernels[..at].rfind("<tr").unwrap();
    &kernels[start..at + kernels[at..].find("</tr>").unwrap()]
}

/// The first word of each `class="{prefix}…"` in `html`, after the prefix.
fn classes<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    html.split(&format!("class=\"{prefix}"))
        .skip(1)
        .map(|c| &c[..c.find(['"', ' ']).unwrap()])
        .collect()
}

#[test]
fn the_kernels_chapter_shows_failed_and_broken_configurations_and_lost_claims_as_failures() {
    let host = host_check(false);
    let first = &host["lessons"][0]["claims"][0];
    let (lesson, line) = (
        first["lesson"].as_str().unwrap().to_owned(),
        first["line"].as_u64().unwrap() as usize,
    );
    let mut lost = labelled(&host, "lost");
    lost["lessons"][0]["claims"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let book = book_source(&[labelled(&host, "fine"), lost, broken(&host, "gone")]);
    let kernels = &book["kernels.md"];
    let failed = &kernels[kernels.find("failed</b>: ").expect(kernels)..];
    let failed = &failed[..failed.find("</p>").unwrap()];
    assert!(
        failed.contains("3 lost") && failed.contains("4 gone") && !failed.contains("2 fine"),
        "{failed}"
    );
    let row = kernels_row(kernels, "fine");
    assert!(row.contains("class=\"passed\""), "{row}");
    let row = kernels_row(kernels, "lost");
    assert!(
        row.contains("class=\"failed\"")
            && row.contains(&format!(
                "failed</b>: 1 claim(s) that other result files report are not in this one (first: {}:{line})",
                first["file"].as_str().unwrap()
            )),
        "{row}"
    );
    let row = kernels_row(kernels, "gone");
    assert!(
        row.contains("class=\"broken\"")
            && row.contains("broken</b>: no begin marker on the console")
            && row.contains("Kernel panic - not syncing"),
        "{row}"
    );
    // The lesson's grid and the claim's squares: the lost claim and the broken run in
    // failure's colour, as the CSS gives it, not the grey of a claim not checked.
    let grid = &kernels[kernels.find(&format!("id=\"matrix-{lesson}\"")).unwrap()..];
    let cells = classes(grid, "cell ");
    assert_eq!(cells[2..4], ["unreported", "broken"], "{grid}");
    assert_eq!(cells[0], cells[1], "this build and its copy");
    let squares = classes(claim_line(&book["01-mmap-anon.md"], line), "sq ");
    assert_eq!(squares[1..], ["unreported", "broken"]);
    let css = include_str!("../src/book/pagelab.css");
    assert!(
        css.contains(".sq.unreported, rect.cell.unreported, .sq.broken, rect.cell.broken { background: var(--failed); fill: var(--failed); }"),
        "{css}"
    );
}

#[test]
fn mdbook_directives_in_result_files_stay_text() {
    let directive = "{{#include ../book.toml}}";
    let mut result = labelled(&host_check(false), directive);
    result["kernel"]["release"] = "6.1 {{#title pwned}}".into();
    let claim = &mut result["lessons"][0]["claims"][0];
    claim["verdict"] = "failed".into();
    claim["observed"] = directive.into();
    claim["reason"] = format!("{directive} differs").into();
    let book = book_source(std::slice::from_ref(&result));
    let marker = book["book.toml"].lines().next().unwrap().to_owned();
    for (name, text) in &book {
        assert!(!text.contains("{{#"), "{name} holds an mdBook directive");
    }
    assert!(
        book["kernels.md"].contains("<td>&#123;&#123;#include ../book.toml}}</td>"),
        "{}",
        book["kernels.md"]
    );
    // mdBook's own reading of the pages takes a site build: with the browser test, which
    // builds one anyway (CI runs it), not in every warm `cargo test`.
    if std::env::var_os("PAGELAB_BROWSER").is_none() || on_path("mdbook").is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "book: mdBook's reading of the pages SKIPPED: it runs with PAGELAB_BROWSER=1 and `mdbook` on PATH (`just mdbook` installs it)"
        );
        return;
    }
    let dir = write_book(&[result], false);
    let site = read_all(&dir.path().join("book/html"), ".html");
    assert!(site.len() >= 12, "{:?}", site.keys());
    for (name, html) in &site {
        assert!(
            !html.contains(&marker)
                && !html.contains("build-dir")
                && !html.contains("pwned</title>"),
            "{name}: mdBook expanded a directive of a result file"
        );
    }
    assert!(
        site["kernels.html"].contains("{{#include ../book.toml}}")
            || site["kernels.html"].contains("&#123;&#123;#include ../book.toml}}"),
        "the label is shown as it is"
    );
}

/// The cells of a row of the Kernels table.
fn cells(row: &str) -> Vec<&str> {
    row.split("<td>")
        .skip(1)
        .map(|c| &c[..c.find("</td>").unwrap()])
        .collect()
}

#[test]
fn the_kernels_table_counts_claims_in_every_column_and_exercises_apart() {
    let both = host_check(true);
    let book = book_source(&[labelled(&both, "both")]);
    let kernels = &book["kernels.md"];
    assert!(
        kernels.contains("The counts are of the lessons' claims in every column"),
        "{kernels}"
    );
    let head = &kernels[kernels.find("<thead>").unwrap()..kernels.find("</thead>").unwrap()];
    assert!(
        head.contains(
            "<th>claims held</th><th>claims failed</th><th>claims skipped</th><th>exercises</th>"
        ),
        "{head}"
    );
    let ours = cells(kernels_row(kernels, "this build"));
    let theirs = cells(kernels_row(kernels, "both"));
    let totals = &both["totals"];
    let claims = [&totals["held"], &totals["failed"], &totals["skipped"]].map(|n| n.to_string());
    assert_eq!(theirs[10..13], claims, "{theirs:?}");
    assert_eq!(
        ours[10..13],
        theirs[10..13],
        "the same claims, counted alike"
    );
    assert_eq!(ours[13], "not checked");
    let done = both["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "done")
        .count();
    assert!(
        theirs[13].starts_with(&format!("{done} done")),
        "{}",
        theirs[13]
    );
}

/// The glyph a square or grid cell of class `class` carries.
fn glyph(class: &str) -> &'static str {
    match class {
        "held" => "✓",
        "failed" => "✗",
        "skipped" => "·",
        "missing" | "unreported" => "?",
        "broken" => "!",
        other => panic!("a square of class {other}"),
    }
}

#[test]
fn squares_and_grid_cells_have_a_name_and_a_glyph_and_failures_are_hatched() {
    let host = host_check(false);
    let mut odd = labelled(&host, "odd");
    let claims = odd["lessons"][0]["claims"].as_array_mut().unwrap();
    claims[0]["verdict"] = "failed".into();
    claims[0]["reason"] = "made up for the test".into();
    claims.remove(1);
    let book = book_source(&[odd, broken(&host, "gone")]);
    let chapter = &book["01-mmap-anon.md"];
    let mut seen = BTreeSet::new();
    for square in chapter.split("<span class=\"sq ").skip(1) {
        let class = &square[..square.find('"').unwrap()];
        let head = &square[..square.find('>').unwrap()];
        let body = &square[head.len() + 1..square.find("</span>").unwrap()];
        let name = attributes(head, "aria-label");
        assert!(
            head.contains("role=\"img\"") && name.len() == 1 && name[0].starts_with(['2', '3']),
            "a square without its name: {head}"
        );
        assert_eq!(body, glyph(class), "{head}");
        seen.insert(class);
    }
    for class in ["failed", "unreported", "broken"] {
        assert!(seen.contains(class), "no {class} square in {seen:?}");
    }
    let kernels = &book["kernels.md"];
    let grid = &kernels[kernels.find("<svg").unwrap()..];
    let grid = &grid[..grid.find("</svg>").unwrap()];
    assert!(
        grid[..grid.find('>').unwrap()].contains("role=\"group\""),
        "an image's parts are hidden from screen readers: {}",
        &grid[..200]
    );
    let cells: Vec<&str> = grid
        .split("<g role=\"img\" aria-label=\"")
        .skip(1)
        .collect();
    assert_eq!(cells.len(), grid.matches("<rect class=\"cell ").count());
    for cell in cells {
        let class = classes(cell, "cell ")[0];
        let mark = &cell[cell.find("<text class=\"mark").unwrap()..];
        let mark = &mark[mark.find('>').unwrap() + 1..mark.find("</text>").unwrap()];
        assert_eq!(mark, glyph(class), "{cell}");
        let hatched = cell.contains("<rect class=\"hatch\"");
        assert_eq!(
            hatched,
            ["failed", "unreported", "broken"].contains(&class),
            "{cell}"
        );
    }
    let css = include_str!("../src/book/pagelab.css");
    assert!(
        css.contains(".sq.failed, .sq.unreported, .sq.broken {\n    background-image: repeating-linear-gradient("),
        "failed squares are hatched"
    );
}

/// One claim block of a chapter: its step, whose view it is about, its kind, whether every
/// claim line of it was skipped, and the classes of the figures that follow it.
struct Block<'a> {
    step: &'a str,
    of: &'a str,
    tag: &'a str,
    skipped: bool,
    figures: Vec<&'a str>,
}

fn blocks(chapter: &str) -> Vec<Block<'_>> {
    chapter
        .split("<div class=\"claim-block\"")
        .skip(1)
        .map(|part| {
            // The block, then the figures that come right after it.
            let (block, after) = part.split_at(part.find("<figure").unwrap_or(part.len()));
            let head = &block[..block.find('>').unwrap()];
            let tag = &block[block.find("class=\"tag\">").unwrap() + 12..];
            Block {
                step: attributes(head, "data-step")[0],
                of: attributes(head, "data-of")[0],
                tag: &tag[..tag.find('<').unwrap()],
                skipped: attributes(block, "data-verdict")
                    .iter()
                    .all(|v| *v == "skipped"),
                figures: after
                    .split("<figure class=\"")
                    .skip(1)
                    .map(|f| &f[..f.find('"').unwrap()])
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn a_figure_follows_its_steps_first_block_that_applies() {
    let book = book_source(&[]);
    let mut figures = 0;
    for (name, chapter) in book.iter().filter(|(n, _)| n.starts_with(char::is_numeric)) {
        let blocks = blocks(chapter);
        for (here, block) in blocks.iter().enumerate() {
            for figure in &block.figures {
                figures += 1;
                // Frames show every view of the step; a residency map one view.
                let candidates: Vec<usize> = (0..blocks.len())
                    .filter(|&i| {
                        let other = &blocks[i];
                        other.step == block.step
                            && (*figure == "frames"
                                || (other.of == block.of && other.tag != "outcome"))
                    })
                    .collect();
                let expected = candidates
                    .iter()
                    .find(|&&i| !blocks[i].skipped)
                    .or(candidates.first());
                assert_eq!(
                    expected,
                    Some(&here),
                    "{name}: the {figure} figure of step {} ({}) follows block {here} (skipped: {}), not the step's first that applies",
                    block.step,
                    block.of,
                    block.skipped
                );
            }
        }
    }
    assert!(figures >= 20, "{figures} figures");
}

/// The justfile's recipe installs the mdBook that pagelab names to its users.
#[test]
fn the_justfile_installs_the_mdbook_pagelab_names() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/justfile");
    let justfile = std::fs::read_to_string(path).unwrap();
    let line = format!("mdbook_version := \"{}\"", pagelab::book::MDBOOK_VERSION);
    assert!(justfile.contains(&line), "{path} lacks `{line}`");
}
