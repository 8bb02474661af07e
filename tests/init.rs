//! `dspec init --from-image` on each fixture image writes a spec that then
//! passes `dspec check` (including the image with no shell).

mod common;

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dspec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs dspec")
}

#[test]
fn init_writes_a_spec_that_passes_for_every_fixture_image() {
    common::require_docker();
    common::fixtures_dir();
    // Build and tag the fixture images.
    assert_eq!(
        dspec(&["check", "tests/specs/image_pass.dspec"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        dspec(&["check", "tests/specs/image_fail.dspec"])
            .status
            .code(),
        Some(1)
    );
    let dir = std::env::temp_dir().join(format!("dspec-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for image in [
        "dspec-test/prod:tagged",
        "dspec-test/dev:tagged",
        "dspec-test/noshell:tagged",
    ] {
        let file = dir.join(format!("{}.dspec", image.replace(['/', ':'], "_")));
        let out = dspec(&[
            "init",
            "--from-image",
            image,
            "-o",
            file.to_str().unwrap(),
            "--force",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spec = std::fs::read_to_string(&file).unwrap();
        assert!(spec.contains(&format!("existing \"{image}\"")), "{spec}");
        let out = dspec(&["check", "--color", "never", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{image}:\n{spec}\n{stdout}");
        assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    }
    let noshell = std::fs::read_to_string(dir.join("dspec-test_noshell_tagged.dspec")).unwrap();
    assert!(
        noshell.contains("expect app.file(\"/bin/sh\").exists == false"),
        "{noshell}"
    );
    // Intent, not today's values (issue 15): no pinned uid, layer count or PATH; no package
    // checks on an image without a package manager; a container part that runs it.
    let prod = std::fs::read_to_string(dir.join("dspec-test_prod_tagged.dspec")).unwrap();
    for spec in [&prod, &noshell] {
        assert!(!spec.contains("uid =="), "{spec}");
        assert!(!spec.contains("app.layers"), "{spec}");
        assert!(
            !spec.contains("env.PATH") && !spec.contains("\"PATH\""),
            "{spec}"
        );
        assert!(spec.contains("expect app.uid != 0"), "{spec}");
        assert!(
            spec.contains("container svc = run app { publish 8000 }"),
            "{spec}"
        );
        assert!(
            spec.contains("expect svc.health == \"healthy\" within"),
            "{spec}"
        );
        assert!(
            spec.contains("expect svc.port(8000).open within 30s"),
            "{spec}"
        );
        assert!(
            spec.contains("expect svc.stop(10s).exit_code == 0"),
            "{spec}"
        );
        assert!(spec.contains("# criterion AC1"), "{spec}");
    }
    assert!(!noshell.contains("packages not contains"), "{noshell}");
    assert!(
        prod.contains("expect app.packages not contains \"gcc\""),
        "{prod}"
    );
    // `-o` into a folder that does not exist yet makes it (it was exit 3, "No such file").
    let nested = dir.join("new/specs/prod.dspec");
    let _ = std::fs::remove_dir_all(dir.join("new"));
    let out = dspec(&[
        "init",
        "--from-image",
        "dspec-test/prod:tagged",
        "-o",
        nested.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(nested.is_file());
    let out = dspec(&["init", "--from-image", "dspec-test/absent:nope"]);
    assert_eq!(out.status.code(), Some(3));
}
