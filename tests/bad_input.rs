//! Bad input never crashes: every class of hostile or broken input gets a diagnostic and
//! exit code 2, without a panic, in bounded time and memory (the parser's budgets).

use proptest::prelude::*;
use simctl_e2e::simctl;

fn billion_laughs() -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 \"lol\"\n",
    );
    for i in 1..12 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    text
}

fn deep_nesting(depth: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: x}}\nspec: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

fn deep_block_nesting(depth: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels:\n");
    for i in 0..depth {
        s.push_str(&" ".repeat(4 + 2 * i));
        s.push_str(&format!("k{i}:\n"));
    }
    s
}

/// Over `limits::MAX_FILE_BYTES` (16 MiB).
fn twenty_megabytes() -> Vec<u8> {
    let mut text =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  k: ");
    text.push_str(&"v".repeat(20 * 1024 * 1024));
    text.into_bytes()
}

/// (class, input, a phrase the diagnostic must contain)
fn classes() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("not YAML", b"key: [unclosed\nother: : :\n".to_vec(), "error[YamlSyntax]"),
        ("tab indentation", b"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n".to_vec(), "error[YamlSyntax]"),
        ("empty file", b"".to_vec(), "error[EmptyInput]"),
        ("comments only", b"# nothing here\n---\n# still nothing\n".to_vec(), "error[EmptyInput]"),
        ("a list document", b"- a\n- b\n".to_vec(), "this document is a list, not a Kubernetes object"),
        ("a scalar document", b"hello\n".to_vec(), "this document is a scalar, not a Kubernetes object"),
        ("missing kind", b"apiVersion: v1\nmetadata: {name: x}\n".to_vec(), "Object 'Kind' is missing"),
        ("missing apiVersion", b"kind: Service\nmetadata: {name: x}\n".to_vec(), "add `apiVersion: v1`"),
        (
            "string for a number",
            b"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: \"eighty\"\n".to_vec(),
            "cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32",
        ),
        (
            "string for a list",
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: nginx\n".to_vec(),
            "cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container",
        ),
        (
            "number for a label value",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    version: 1.5\nspec: {containers: [{name: a, image: b}]}\n".to_vec(),
            "cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            "huge integer",
            b"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: 99999999999999999999999\n".to_vec(),
            "of type int32",
        ),
        (
            "int32 overflow",
            b"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: 4294967376\n".to_vec(),
            "cannot unmarshal number 4294967376 into Go struct field ServicePort.spec.ports.port of type int32",
        ),
        ("twenty megabytes", twenty_megabytes(), "error[InputTooLarge]"),
        ("deep flow nesting", deep_nesting(100_000).into_bytes(), "error[LimitExceeded]: lists and maps nested deeper than simctl's limit of 64 levels"),
        ("deep block nesting", deep_block_nesting(2_000).into_bytes(), "error[LimitExceeded]: lists and maps nested deeper than simctl's limit of 64 levels"),
        ("billion laughs", billion_laughs().into_bytes(), "error[LimitExceeded]: aliases in this file"),
        ("binary", vec![0xff, 0xfe, 0x00, 0x9c, 0x80, 0x81, 0x00, 0x13], "not UTF-8 text"),
        ("NUL in text", b"apiVersion: v1\x00\nkind: Pod\n".to_vec(), "error["),
        ("many empty documents", "---\n".repeat(200_000).into_bytes(), "error[LimitExceeded]: more YAML documents in this file than simctl's limit of 50,000 per file"),
        ("a duplicate key", b"apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: x}\n".to_vec(), "error[YamlSyntax]"),
        ("an unknown tag", b"apiVersion: v1\nkind: !!binary Pod\n".to_vec(), "error["),
    ]
}

#[test]
fn every_bad_input_class_exits_2_with_a_diagnostic_and_no_panic() {
    let mut failures = Vec::new();
    for (class, input, phrase) in classes() {
        let result = std::panic::catch_unwind(|| simctl(&["check", "-"], &input));
        match result {
            Err(_) => failures.push(format!("{class}: panicked")),
            Ok(out) => {
                // Diagnostics go to stderr; stdout keeps the closing tally.
                if out.code != 2 || !out.stderr.contains(phrase) {
                    let head: String = out.stderr.chars().take(1500).collect();
                    failures.push(format!(
                        "{class}: exit {} (want 2), output lacks {phrase:?}:\n{head}",
                        out.code
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_missing_file_is_a_diagnostic() {
    let out = simctl(&["check", "/nonexistent/simctl/file.yaml"], b"");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("error[Unreadable]: cannot read /nonexistent/simctl/file.yaml"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stdout,
        "checked 0 files: no valid objects; 1 error, 0 warnings, 0 notes\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(simctl(&["check"], b"").code, 2);
    assert_eq!(simctl(&["frobnicate"], b"").code, 2);
    assert_eq!(simctl(&["--help"], b"").code, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Arbitrary text never panics and always ends in exit 0 or 2.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let out = simctl(&["check", "-"], text.as_bytes());
        prop_assert!(out.code == 0 || out.code == 2);
    }

    /// Manifests mutated line by line never panic.
    #[test]
    fn mutated_manifests_never_panic(cut in 0usize..400, insert in "[ :\\-\\[\\]{}'\"#&*!|>0-9a-zA-Z\n]{0,12}") {
        let base = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  type: NodePort\n  selector:\n    app: web\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n      nodePort: 30080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n          ports: [{containerPort: 80, name: http}]\n";
        let at = base.char_indices().map(|(i, _)| i).nth(cut % base.len()).unwrap_or(0);
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        let out = simctl(&["check", "-"], text.as_bytes());
        prop_assert!(out.code == 0 || out.code == 2);
    }
}
