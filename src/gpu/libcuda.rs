//! Where the CUDA driver (libcuda) lives when the dynamic loader's own search misses it: Jetson
//! and DRIVE boards (L4T, JetPack) keep it outside the default library path and rely on an
//! ld.so.conf entry that a container, a minimal rootfs or a chroot may lack. Sources:
//! docs/gpu.md#gpu-archs.

use std::path::{Path, PathBuf};

/// Relative to the filesystem root, tried in this order.
const BEYOND_LOADER_PATH: &[&str] = &[
    // L4T r32-r36 (Xavier, Orin): nvidia-l4t-cuda.
    "usr/lib/aarch64-linux-gnu/tegra/libcuda.so.1",
    "usr/lib/aarch64-linux-gnu/tegra/libcuda.so",
    // L4T r36 moved the driver's libraries beside it.
    "usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1",
    // JetPack 7.2 (L4T r39, Thor): the OpenRM driver, injected into containers by CDI.
    "opt/nvidia/l4t-gpu-libs/openrm/libcuda.so.1",
];

/// The first libcuda under `root` at a place the dynamic loader may not search.
pub fn find_libcuda(root: &Path) -> Option<PathBuf> {
    BEYOND_LOADER_PATH
        .iter()
        .map(|relative| root.join(relative))
        .find(|path| path.is_file())
}

/// Loads the libcuda found under `root` for the rest of the process, so that cudarc's own
/// `dlopen("libcuda.so.1")` finds it by its soname.
pub fn preload_libcuda(root: &Path) -> Option<PathBuf> {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    let path = find_libcuda(root)?;
    // SAFETY: loading libcuda runs its initializers, which only set up the driver's state.
    let library = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_GLOBAL) }.ok()?;
    // cudarc's handle to the same library outlives any of ours: never unload it.
    std::mem::forget(library);
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) -> PathBuf {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"").unwrap();
        path
    }

    #[test]
    fn finds_the_l4t_driver_in_tegra() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(find_libcuda(root.path()), None);
        let tegra = touch(root.path(), "usr/lib/aarch64-linux-gnu/tegra/libcuda.so");
        assert_eq!(find_libcuda(root.path()), Some(tegra));
        let versioned = touch(root.path(), "usr/lib/aarch64-linux-gnu/tegra/libcuda.so.1");
        assert_eq!(
            find_libcuda(root.path()),
            Some(versioned),
            "the soname first"
        );
    }

    #[test]
    fn finds_the_jetpack_6_and_7_drivers() {
        let root = tempfile::tempdir().unwrap();
        let openrm = touch(root.path(), "opt/nvidia/l4t-gpu-libs/openrm/libcuda.so.1");
        assert_eq!(find_libcuda(root.path()), Some(openrm));
        let nvidia = touch(root.path(), "usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1");
        assert_eq!(find_libcuda(root.path()), Some(nvidia));
    }

    #[test]
    fn a_directory_of_that_name_is_no_driver() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(
            root.path()
                .join("usr/lib/aarch64-linux-gnu/tegra/libcuda.so"),
        )
        .unwrap();
        assert_eq!(find_libcuda(root.path()), None);
    }

    #[test]
    fn nothing_to_load_under_an_empty_root() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(preload_libcuda(root.path()), None);
    }
}
