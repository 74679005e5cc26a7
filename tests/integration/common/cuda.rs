//! The stand-in CUDA driver (tests/fixtures/libcuda/stub_cuda.c), built once per test run with
//! the system's C compiler and put first on every trtctl's library path: GPU detection then
//! sees exactly the GPUs a test describes, and none where it describes none, on any machine.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/libcuda/stub_cuda.c"
);

pub const H100: &str = "NVIDIA H100 80GB HBM3,9.0,81559";
pub const A10: &str = "NVIDIA A10,8.6,22731";

/// The directory holding the stand-in `libcuda.so` and `libcuda.so.1`.
pub fn stub_libcuda_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stub-libcuda");
        std::fs::create_dir_all(&dir).unwrap();
        // Built under a name of this process, then renamed: a concurrent run never loads half a file.
        let built = dir.join(format!(".libcuda.{}.so", std::process::id()));
        let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = std::process::Command::new(&compiler)
            // The soname of NVIDIA's libcuda: a driver preloaded by path is then the one that
            // `dlopen("libcuda.so.1")` finds.
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror"])
            .args(["-Wl,-soname,libcuda.so.1", "-o"])
            .arg(&built)
            .arg(SOURCE)
            .status()
            .unwrap_or_else(|e| panic!("{compiler} (the system's C compiler) cannot run: {e}"));
        assert!(status.success(), "{compiler} failed on {SOURCE}");
        for name in ["libcuda.so.1", "libcuda.so"] {
            let linked = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::copy(&built, &linked).unwrap();
            std::fs::rename(&linked, dir.join(name)).unwrap();
        }
        std::fs::remove_file(&built).unwrap();
        dir
    })
}
