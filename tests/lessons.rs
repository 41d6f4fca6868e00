//! The course (`scenarios/lessons`, `scenarios/solutions`) and `simctl test`: every lesson
//! passes, every exercise fails until its solution is applied, and `simctl test` reports
//! the same verdicts as lines, a summary and JUnit XML that a real parser reads.

use std::path::{Path, PathBuf};

use simctl_e2e::{root, simctl, yaml_files};

const MODES: [&str; 3] = ["iptables", "ipvs", "nftables"];

fn lessons_dir() -> PathBuf {
    root().join("scenarios/lessons")
}

fn solutions_dir() -> PathBuf {
    root().join("scenarios/solutions")
}

fn is_exercise(p: &Path) -> bool {
    p.to_string_lossy().ends_with(".exercise.yaml")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A scratch file of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simctl-lessons-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// `N passed, N failed` at the end of `simctl test` output.
fn summary(stdout: &str) -> (usize, usize) {
    let last = stdout.lines().last().unwrap_or("");
    let (p, f) = last
        .split_once(" passed, ")
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    let f = f
        .strip_suffix(" failed")
        .unwrap_or_else(|| panic!("bad summary: {last}"));
    (
        p.parse().expect("passed count"),
        f.parse().expect("failed count"),
    )
}

#[test]
fn the_course_has_twelve_numbered_lessons_each_with_an_exercise_and_a_solution() {
    let files = yaml_files(&lessons_dir());
    let lessons: Vec<&PathBuf> = files.iter().filter(|p| !is_exercise(p)).collect();
    assert!(lessons.len() >= 12, "only {} lessons", lessons.len());
    for (i, l) in lessons.iter().enumerate() {
        let name = l.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        assert!(
            name.starts_with(&format!("{:02}-", i + 1)),
            "lesson {name} out of sequence (expected number {:02})",
            i + 1
        );
        let text = std::fs::read_to_string(l).expect("read lesson");
        assert!(text.contains("kind: Scenario"), "{name}: no Scenario");
        assert!(text.contains("  title: "), "{name}: no spec.title");
        assert!(
            text.contains("  description: |"),
            "{name}: no spec.description"
        );
        let exercise = l.with_extension("exercise.yaml");
        assert!(exercise.is_file(), "{name}: no exercise");
        let solution = solutions_dir().join(exercise.file_name().expect("name"));
        assert!(solution.is_file(), "{name}: no solution");
    }
    // And nothing in solutions/ without its exercise.
    for sol in yaml_files(&solutions_dir()) {
        let ex = lessons_dir().join(sol.file_name().expect("name"));
        assert!(ex.is_file(), "{} solves no exercise", sol.display());
    }
}

#[test]
fn every_lesson_passes() {
    let mut failures = Vec::new();
    for l in yaml_files(&lessons_dir())
        .iter()
        .filter(|p| !is_exercise(p))
    {
        let out = simctl(&["run", &s(l)], b"");
        if out.code != 0 {
            failures.push(format!(
                "{}: exit {}\n{}",
                l.display(),
                out.code,
                out.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_exercise_fails_until_its_solution_is_applied() {
    let mut failures = Vec::new();
    for ex in yaml_files(&lessons_dir()).iter().filter(|p| is_exercise(p)) {
        let before = simctl(&["run", &s(ex)], b"");
        // An expectation fails (1), or the API server refuses an object (2: exercise 6).
        if before.code != 1 && before.code != 2 {
            failures.push(format!(
                "{}: exit {} before the fix, expected 1 or 2\n{}",
                ex.display(),
                before.code,
                before.stdout
            ));
        }
        let text = std::fs::read_to_string(ex).expect("read exercise");
        assert!(
            text.contains("  description: |"),
            "{}: an exercise says what to achieve",
            ex.display()
        );
        let sol = solutions_dir().join(ex.file_name().expect("name"));
        let after = simctl(&["run", &s(&sol)], b"");
        if after.code != 0 {
            failures.push(format!(
                "{}: exit {} with the solution, expected 0\n{}",
                sol.display(),
                after.code,
                after.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn lessons_and_solutions_hold_in_every_proxy_mode() {
    let mut args: Vec<String> = yaml_files(&lessons_dir())
        .iter()
        .filter(|p| !is_exercise(p))
        .map(|p| s(p))
        .collect();
    args.push(s(&solutions_dir()));
    for mode in MODES {
        let mut full = vec!["test", "--proxy-mode", mode];
        full.extend(args.iter().map(String::as_str));
        let out = simctl(&full, b"");
        assert_eq!(out.code, 0, "{mode}:\n{}{}", out.stdout, out.stderr);
        let (passed, failed) = summary(&out.stdout);
        assert!(passed >= 30 && failed == 0, "{mode}: {}", out.stdout);
    }
}

#[test]
fn simctl_test_fails_on_the_exercises_and_passes_on_the_solutions() {
    let lessons = simctl(&["test", &s(&lessons_dir())], b"");
    // 2: exercise 6's Service is refused by the API server, which makes its file invalid.
    assert_eq!(lessons.code, 2, "{}{}", lessons.stdout, lessons.stderr);
    let (passed, failed) = summary(&lessons.stdout);
    let exercises = yaml_files(&lessons_dir())
        .iter()
        .filter(|p| is_exercise(p))
        .count();
    assert!(failed >= exercises, "{}", lessons.stdout);
    assert!(passed > failed, "{}", lessons.stdout);
    // One line per expectation, PASS or FAIL, with the file and the verdict.
    let verdicts = lessons
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.starts_with("ERROR "))
        .count();
    assert_eq!(verdicts, passed + failed, "{}", lessons.stdout);
    assert!(
        lessons.stdout.lines().any(|l| l.starts_with("PASS ")
            && l.contains("scenarios/lessons/01-clusterip.yaml by-name: delivered (12/12)")),
        "{}",
        lessons.stdout
    );
    assert!(
        lessons.stdout.lines().any(|l| l.starts_with("FAIL ")
            && l.contains("01-clusterip.exercise.yaml client-to-shop: expected delivered")),
        "{}",
        lessons.stdout
    );
    // A failure says why, with the line to fix.
    assert!(
        lessons
            .stdout
            .contains("why: the selector app=shop-frontend of Service shop"),
        "{}",
        lessons.stdout
    );

    let solutions = simctl(&["test", &s(&solutions_dir())], b"");
    assert_eq!(
        solutions.code, 0,
        "{}{}",
        solutions.stdout, solutions.stderr
    );
    let (passed, failed) = summary(&solutions.stdout);
    assert!(passed >= 12 && failed == 0, "{}", solutions.stdout);
    assert!(!solutions.stdout.contains("FAIL "), "{}", solutions.stdout);
}

#[test]
fn junit_report_is_read_by_an_xml_parser_with_the_right_counts() {
    let report = scratch("lessons.xml");
    let out = simctl(&["test", "--junit", &s(&report), &s(&lessons_dir())], b"");
    // 2: exercise 6 is refused by the API server (an `error`, not a `failure`).
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let invalid = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ERROR "))
        .count();
    assert_eq!(invalid, 1, "{}", out.stdout);
    let (passed, failed) = summary(&out.stdout);
    let xml = std::fs::read_to_string(&report).expect("junit written");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    // One testsuite per scenario file (every lesson and exercise has expectations).
    assert_eq!(suites.len(), yaml_files(&lessons_dir()).len());
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failures: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(cases.len(), passed + failed);
    assert_eq!(failures.len(), failed - invalid);
    assert_eq!(
        root.attribute("tests"),
        Some((passed + failed).to_string().as_str())
    );
    assert_eq!(
        root.attribute("failures"),
        Some((failed - invalid).to_string().as_str())
    );
    assert_eq!(root.attribute("errors"), Some(invalid.to_string().as_str()));
    for suite in &suites {
        let n = suite
            .children()
            .filter(|c| c.has_tag_name("testcase"))
            .count();
        assert_eq!(suite.attribute("tests"), Some(n.to_string().as_str()));
        let f = suite
            .descendants()
            .filter(|c| c.has_tag_name("failure"))
            .count();
        assert_eq!(suite.attribute("failures"), Some(f.to_string().as_str()));
        let name = suite.attribute("name").unwrap_or("");
        let errors = suite
            .descendants()
            .filter(|c| c.has_tag_name("error"))
            .count();
        assert_eq!(
            f + errors > 0,
            name.ends_with(".exercise.yaml"),
            "{name}: only exercises fail"
        );
    }
    let f = failures[0];
    assert!(
        f.attribute("message")
            .is_some_and(|m| m.contains("expected")),
        "{f:?}"
    );
    let ex1 = suites
        .iter()
        .find(|s| {
            s.attribute("name")
                .is_some_and(|n| n.ends_with("01-clusterip.exercise.yaml"))
        })
        .expect("exercise 1 suite");
    let case = ex1
        .children()
        .find(|c| c.has_tag_name("testcase"))
        .expect("a testcase");
    assert_eq!(case.attribute("name"), Some("client-to-shop"));
    let body = case
        .children()
        .find(|c| c.has_tag_name("failure"))
        .and_then(|f| f.text())
        .unwrap_or("");
    assert!(
        body.contains("why: the selector app=shop-frontend"),
        "{body}"
    );
}

const HOSTILE: &str = r#"apiVersion: simctl/v1alpha1
kind: Scenario
metadata: {name: hostile}
spec:
  title: "Tom & Jerry's <b>lesson</b>"
  description: |
    <script>alert("pwned")</script> & more
    "quotes" and 'apostrophes' on a second line
  traffic:
    - {name: "t<1>", from: pod/client, to: "nothing:80"}
  expect:
    - {traffic: "t<1>", outcome: delivered}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: sh, image: busybox}]
"#;

#[test]
fn junit_escapes_markup_in_descriptions_names_and_messages() {
    let input = scratch("hostile.yaml");
    std::fs::write(&input, HOSTILE).expect("write");
    let report = scratch("hostile.xml");
    let out = simctl(&["test", "--junit", &s(&report), &s(&input)], b"");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let xml = std::fs::read_to_string(&report).expect("junit written");
    assert!(!xml.contains("<script>"), "{xml}");
    assert!(xml.contains("&lt;script&gt;"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let prop = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
            .and_then(|n| n.attribute("value"))
            .map(str::to_string)
    };
    // The parser gives back exactly what was written, line breaks included.
    assert_eq!(
        prop("description").as_deref(),
        Some(
            "<script>alert(\"pwned\")</script> & more\n\"quotes\" and 'apostrophes' on a second line\n"
        )
    );
    assert_eq!(
        prop("title").as_deref(),
        Some("Tom & Jerry's <b>lesson</b>")
    );
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .expect("testcase");
    assert_eq!(case.attribute("name"), Some("t<1>"));
    let failure = case
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    assert!(
        failure
            .attribute("message")
            .is_some_and(|m| m.starts_with("t<1>: expected delivered")),
        "{failure:?}"
    );
}

#[test]
fn invalid_input_is_an_error_testcase_and_exit_2() {
    let bad = scratch("invalid.yaml");
    std::fs::write(
        &bad,
        "apiVersion: simctl/v1alpha1\nkind: Scenario\nmetadata: {name: bad}\nspec:\n  expect: [{diagnostic: {contains: x}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}\n",
    )
    .expect("write");
    let good = solutions_dir().join("01-clusterip.exercise.yaml");
    let report = scratch("invalid.xml");
    let out = simctl(&["test", "--junit", &s(&report), &s(&bad), &s(&good)], b"");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("ERROR ")
            && l.contains("invalid.yaml")
            && l.contains("provided port is not in the valid range")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("PASS "), "the valid file still runs");
    assert_eq!(summary(&out.stdout), (1, 1));
    let xml = std::fs::read_to_string(&report).expect("junit written");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let errors: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("error"))
        .collect();
    assert_eq!(errors.len(), 1, "{xml}");
    assert!(
        errors[0]
            .attribute("message")
            .is_some_and(|m| m.contains("nodePort")),
        "{xml}"
    );
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
}

#[test]
fn files_without_expectations_are_skipped_and_nothing_to_test_is_an_error() {
    let plain = scratch("plain.yaml");
    std::fs::write(
        &plain,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: nginx, image: nginx}]}\n",
    )
    .expect("write");
    let out = simctl(&["test", &s(&plain)], b"");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("SKIP "), "{}", out.stdout);
    assert!(out.stderr.contains("nothing was tested"), "{}", out.stderr);
    let good = solutions_dir().join("02-targetport.exercise.yaml");
    let out = simctl(&["test", &s(&plain), &s(&good)], b"");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(summary(&out.stdout), (1, 0));
}

#[test]
fn srv_answers_are_told_in_the_story() {
    // sim-core fix: the story printed an SRV answer as "resolves to " and nothing.
    let out = simctl(
        &["run", &s(&lessons_dir().join("12-headless-dns.yaml"))],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "_postgres._tcp.db resolves to SRV 0 50 5432 db-0.db.default.svc.cluster.local, 0 50 5432 db-1.db.default.svc.cluster.local"
        ),
        "{}",
        out.stdout
    );
}
