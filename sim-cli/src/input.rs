//! Reading input as kubectl reads `-f`: files, directories and `-` (stdin), into one stream.
//!
//! kubectl's rules (`k8s.io/cli-runtime/pkg/resource/visitor.go`, `ExpandPathsToFileVisitors`
//! and `builder.go`), and where simctl differs:
//!
//! - A path named on the command line is read whatever its extension. In a directory, only
//!   `*.json`, `*.yaml` and `*.yml` files are read, in lexical order, and subdirectories only
//!   with `-R/--recursive`.
//! - `-` is standard input, and may be named once (kubectl: "standard input cannot be used
//!   for multiple arguments").
//! - URLs: kubectl fetches them; simctl never uses the network and says so.
//! - Symbolic links are followed (kubectl opens a link to a file as the file). Unlike
//!   `filepath.Walk`, simctl also descends into a link to a directory under `-R`, but reads
//!   each directory and each file once: a link back to a directory already read is noted
//!   and skipped, so a loop of links costs one pass over the real files.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use sim_core::diag::Diagnostic;
use sim_core::manifest;
use sim_core::source::Sources;

/// The input arguments every command that reads manifests takes.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct Inputs {
    /// Manifest or scenario files, directories (their *.yaml, *.yml and *.json files) or
    /// `-` for standard input, read as one stream.
    #[arg(value_name = "FILE", required_unless_present = "filename")]
    pub files: Vec<PathBuf>,
    /// The same, as kubectl takes them (repeatable; mixed with FILE in command-line order).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Vec<PathBuf>,
    /// Read the directories given, and the directories inside them, recursively (without
    /// it, as kubectl: only the files directly inside).
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Put objects that name no namespace in this namespace (as `kubectl apply -n`).
    #[arg(short = 'n', long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// FILE and -f merged in command-line order (set after parsing, see [`Inputs::order`]).
    #[arg(skip)]
    pub ordered: Vec<PathBuf>,
}

impl Inputs {
    /// Merge positional files and `-f` values in the order they were given.
    pub fn order(&mut self, matches: &clap::ArgMatches) {
        let mut all: Vec<(usize, PathBuf)> = Vec::new();
        for id in ["files", "filename"] {
            if let Ok(Some(vals)) = matches.try_get_many::<PathBuf>(id)
                && let Some(idx) = matches.indices_of(id)
            {
                all.extend(idx.zip(vals.cloned()));
            }
        }
        all.sort_by_key(|(i, _)| *i);
        self.ordered = all.into_iter().map(|(_, p)| p).collect();
    }

    /// The paths in command-line order.
    pub fn paths(&self) -> Vec<PathBuf> {
        if self.ordered.is_empty() {
            self.files.iter().chain(&self.filename).cloned().collect()
        } else {
            self.ordered.clone()
        }
    }
}

/// One thing to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Stdin,
    File(PathBuf),
}

/// What reading the inputs gave: the texts, the problems met, and the files read (for
/// `--watch`).
pub(crate) struct ReadInputs {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    #[allow(dead_code)] // Read by `run --watch`.
    pub items: Vec<Item>,
}

/// The directory walk found nothing to read, or a path is not something simctl reads.
fn usage(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Expand the paths into the files to read, in order, each once. A URL or a second `-`
/// is an error of the command line.
pub(crate) fn expand(
    paths: &[PathBuf],
    recursive: bool,
    diags: &mut Vec<Diagnostic>,
) -> io::Result<Vec<Item>> {
    let mut walk = Walk {
        recursive,
        dirs: BTreeSet::new(),
        files: BTreeSet::new(),
        out: Vec::new(),
        diags,
    };
    let mut stdin = false;
    for p in paths {
        let text = p.to_string_lossy();
        if text == "-" {
            if stdin {
                return Err(usage(
                    "standard input cannot be used for multiple arguments (`-` is given twice)"
                        .into(),
                ));
            }
            stdin = true;
            walk.out.push(Item::Stdin);
            continue;
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(usage(format!(
                "{text}: URLs are not read: simctl never uses the network; download the file and give its path"
            )));
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let before = walk.out.len();
                let skipped_dirs = walk.dir(p);
                if walk.out.len() == before {
                    let mut d = manifest::unreadable(
                        None,
                        &p.display().to_string(),
                        "no *.yaml, *.yml or *.json files in this directory",
                    );
                    if skipped_dirs && !recursive {
                        d = d.help("it has subdirectories: -R/--recursive reads them too");
                    }
                    walk.diags.push(d);
                }
            }
            // A file named on the command line is read whatever its extension; one that
            // cannot be opened is reported when it is read.
            _ => walk.file(p, true),
        }
    }
    Ok(walk.out)
}

struct Walk<'a> {
    recursive: bool,
    /// Canonical directories already walked.
    dirs: BTreeSet<PathBuf>,
    /// Canonical files already listed.
    files: BTreeSet<PathBuf>,
    out: Vec<Item>,
    diags: &'a mut Vec<Diagnostic>,
}

fn is_manifest(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
}

impl Walk<'_> {
    fn file(&mut self, p: &Path, named: bool) {
        let key = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        if !self.files.insert(key) {
            return; // Read once, however many names lead to it.
        }
        if named || is_manifest(p) {
            self.out.push(Item::File(p.to_path_buf()));
        }
    }

    /// Walk one directory; returns whether it has subdirectories that were not read.
    fn dir(&mut self, dir: &Path) -> bool {
        let canonical = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                self.diags.push(manifest::unreadable(
                    None,
                    &dir.display().to_string(),
                    &e.to_string(),
                ));
                return false;
            }
        };
        if !self.dirs.insert(canonical.clone()) {
            self.diags.push(
                Diagnostic::note(
                    "AlreadyRead",
                    format!(
                        "{}: a link to {}, which is already being read: not read again",
                        dir.display(),
                        canonical.display()
                    ),
                )
                .help("each directory and file is read once, so a loop of symbolic links is read once"),
            );
            return false;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.diags.push(manifest::unreadable(
                    None,
                    &dir.display().to_string(),
                    &e.to_string(),
                ));
                return false;
            }
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        let mut skipped = false;
        for p in paths {
            // `metadata` follows links: a link to a file is that file.
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => {
                    if self.recursive {
                        skipped |= self.dir(&p);
                    } else {
                        skipped = true;
                    }
                }
                Ok(_) => self.file(&p, false),
                // A dangling link with a manifest's name: reading it reports the problem.
                Err(_) if is_manifest(&p) => self.file(&p, false),
                Err(_) => {}
            }
        }
        skipped
    }
}

/// Read every input into [`Sources`]; problems reading become diagnostics.
pub(crate) fn read(
    paths: &[PathBuf],
    recursive: bool,
    stdin: &mut dyn Read,
    limit: usize,
) -> io::Result<ReadInputs> {
    let mut sources = Sources::new();
    let mut diags = Vec::new();
    let items = expand(paths, recursive, &mut diags)?;
    for item in &items {
        let (name, bytes) = match item {
            Item::Stdin => ("<stdin>".to_string(), read_limited(stdin, limit)),
            Item::File(path) => (
                path.display().to_string(),
                std::fs::File::open(path).and_then(|mut f| read_limited(&mut f, limit)),
            ),
        };
        match bytes {
            Ok(b) => match String::from_utf8(b) {
                // A BOM is legal at the start of YAML; drop it so columns stay right.
                Ok(text) => {
                    let text = text
                        .strip_prefix('\u{feff}')
                        .map(str::to_string)
                        .unwrap_or(text);
                    sources.add(name, text);
                }
                Err(e) => {
                    let id = sources.add(name.clone(), String::new());
                    diags.push(manifest::unreadable(
                        Some(id),
                        &name,
                        &format!(
                            "not UTF-8 text (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        ),
                    ));
                }
            },
            Err(e) => diags.push(manifest::unreadable(None, &name, &e.to_string())),
        }
    }
    Ok(ReadInputs {
        sources,
        diagnostics: diags,
        items,
    })
}

/// Read at most `limit + 1` bytes, so an oversized input is detected without reading it all.
fn read_limited(r: &mut dyn Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed on drop.
    struct Temp(PathBuf);

    impl Temp {
        fn new(tag: &str) -> Temp {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "simctl-input-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).expect("mkdir");
            Temp(dir)
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn names(items: &[Item], root: &Path) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Stdin => "-".to_string(),
                Item::File(p) => p.strip_prefix(root).unwrap_or(p).display().to_string(),
            })
            .collect()
    }

    #[test]
    fn directories_read_their_own_manifests_and_subdirectories_only_with_recursive() {
        let t = Temp::new("dirs");
        std::fs::create_dir_all(t.0.join("sub")).expect("mkdir");
        for f in ["b.yaml", "a.json", "c.yml", "notes.txt", "sub/d.yaml"] {
            std::fs::write(t.0.join(f), "kind: x\n").expect("write");
        }
        let mut d = Vec::new();
        let flat = expand(std::slice::from_ref(&t.0), false, &mut d).expect("expand");
        assert_eq!(names(&flat, &t.0), ["a.json", "b.yaml", "c.yml"]);
        let deep = expand(std::slice::from_ref(&t.0), true, &mut d).expect("expand");
        assert_eq!(
            names(&deep, &t.0),
            ["a.json", "b.yaml", "c.yml", "sub/d.yaml"]
        );
        assert!(d.is_empty(), "{d:?}");
        // Named explicitly, any extension is read.
        let named = expand(&[t.0.join("notes.txt")], false, &mut d).expect("expand");
        assert_eq!(names(&named, &t.0), ["notes.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_linking_to_itself_is_read_once() {
        // Issue 15: two links to itself made 2^17 - 1 copies of one file (61 s, 5 GB).
        let t = Temp::new("loop");
        std::fs::write(t.0.join("svc.yaml"), "kind: x\n").expect("write");
        std::os::unix::fs::symlink(&t.0, t.0.join("self-a")).expect("ln");
        std::os::unix::fs::symlink(&t.0, t.0.join("self-b")).expect("ln");
        std::os::unix::fs::symlink(t.0.join("svc.yaml"), t.0.join("same.yaml")).expect("ln");
        let mut d = Vec::new();
        let items = expand(std::slice::from_ref(&t.0), true, &mut d).expect("expand");
        assert_eq!(names(&items, &t.0), ["same.yaml"]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|x| x.code == "AlreadyRead"), "{d:?}");
    }

    #[test]
    fn stdin_twice_and_urls_are_refused() {
        let mut d = Vec::new();
        let e = expand(&["-".into(), "-".into()], false, &mut d).expect_err("twice");
        assert!(e.to_string().starts_with("standard input cannot be used"));
        let e = expand(&["https://example.com/app.yaml".into()], false, &mut d).expect_err("url");
        assert!(e.to_string().contains("URLs are not read"), "{e}");
    }
}
