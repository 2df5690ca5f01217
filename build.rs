// Migrations are embedded with `sqlx::migrate!`; rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
    pack_relative_relocations();
}

/// A position-independent binary carries one relocation per pointer in its read-only
/// data (88,000 of them, 2.1 MB, all read at every start). Packed (`DT_RELR`, glibc 2.36,
/// GNU ld 2.38) they take 32 KB: the warm pass of the shared bench peaks 1.2 MB lower.
/// Used only where the linker and the C library take it: a probe links an empty program.
fn pack_relative_relocations() {
    const FLAG: &str = "-Wl,-z,pack-relative-relocs";
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if !(linux_gnu && native) {
        return;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from) else {
        return;
    };
    let source = out.join("relr_probe.c");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return;
    }
    let linked = std::process::Command::new("cc")
        .arg(&source)
        .arg("-o")
        .arg(out.join("relr_probe"))
        .arg(FLAG)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // The probe's binary must also run: an older C library refuses it at load time.
    let runs = linked
        && std::process::Command::new(out.join("relr_probe"))
            .status()
            .is_ok_and(|s| s.success());
    if runs {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}
