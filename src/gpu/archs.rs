//! What trtctl knows of each GPU arch: the GPUs that have it, for messages ("needs an sm_89 (RTX
//! 4090/4080, L4, L40) builder"). Which archs are the integrated GPUs of Jetson and DRIVE
//! (Tegra), where `ampere+` engines do not run, is [`GpuArch::is_integrated`]. Sources for each
//! row: docs/gpu.md#gpu-archs.

use crate::identity::GpuArch;

struct ArchFacts {
    major: u32,
    minor: u32,
    names: &'static str,
}

const fn arch(major: u32, minor: u32, names: &'static str) -> ArchFacts {
    ArchFacts {
        major,
        minor,
        names,
    }
}

const ARCHS: &[ArchFacts] = &[
    arch(6, 1, "GTX 1080 Ti"),
    arch(7, 0, "V100"),
    arch(7, 2, "Jetson AGX Xavier, Xavier NX, DRIVE AGX Xavier"),
    arch(7, 5, "RTX 2080 Ti, T4"),
    arch(8, 0, "A100, A30"),
    arch(8, 6, "RTX 3090/3080, A10, A40"),
    arch(8, 7, "Jetson AGX Orin, Orin NX, Orin Nano, DRIVE AGX Orin"),
    arch(8, 9, "RTX 4090/4080, L4, L40"),
    arch(9, 0, "H100, H200, GH200"),
    arch(10, 0, "B200, GB200"),
    // Thor's number up to CUDA 12.9; CUDA 13.0 renamed it sm_110.
    arch(10, 1, "Jetson AGX Thor, DRIVE AGX Thor under CUDA 12"),
    arch(10, 3, "B300, GB300"),
    arch(11, 0, "Jetson AGX Thor, DRIVE AGX Thor"),
    arch(12, 0, "RTX 5090/5080, RTX PRO 6000 Blackwell"),
    // GB10 shares memory with its CPU but runs the desktop driver (DGX OS), not L4T: not Tegra.
    arch(12, 1, "DGX Spark (GB10)"),
];

fn facts(arch: GpuArch) -> Option<&'static ArchFacts> {
    ARCHS
        .iter()
        .find(|facts| GpuArch::new(facts.major, facts.minor) == arch)
}

/// The GPUs of an arch, for messages: "needs an sm_89 (RTX 4090/4080, L4, L40) builder".
pub fn gpu_names(arch: GpuArch) -> Option<&'static str> {
    facts(arch).map(|facts| facts.names)
}

pub fn describe_arch(arch: GpuArch) -> String {
    if arch.is_and_later() {
        return format!("{arch} (any of sm_80 or later but Jetson and DRIVE)");
    }
    match gpu_names(arch) {
        Some(names) => format!("{arch} ({names})"),
        None => arch.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_names_for_messages() {
        assert_eq!(
            gpu_names(GpuArch::new(8, 9)),
            Some("RTX 4090/4080, L4, L40")
        );
        assert_eq!(
            gpu_names(GpuArch::new(12, 0)),
            Some("RTX 5090/5080, RTX PRO 6000 Blackwell")
        );
        assert_eq!(gpu_names(GpuArch::new(5, 3)), None);
        assert_eq!(
            describe_arch(GpuArch::new(9, 0)),
            "sm_90 (H100, H200, GH200)"
        );
        assert_eq!(
            describe_arch(GpuArch::new(11, 0)),
            "sm_110 (Jetson AGX Thor, DRIVE AGX Thor)"
        );
        assert_eq!(describe_arch(GpuArch::new(5, 3)), "sm_53");
    }

    #[test]
    fn every_current_blackwell_arch_is_known() {
        for (major, minor) in [(10, 0), (10, 3), (12, 0), (12, 1)] {
            let arch = GpuArch::new(major, minor);
            assert!(gpu_names(arch).is_some(), "{arch}");
            assert!(!arch.is_integrated(), "{arch} is a discrete or desktop GPU");
        }
    }

    #[test]
    fn jetson_and_drive_archs_are_tegra() {
        let tegra: Vec<String> = ARCHS
            .iter()
            .map(|facts| GpuArch::new(facts.major, facts.minor))
            .filter(|&arch| arch.is_integrated())
            .map(|arch| arch.to_string())
            .collect();
        assert_eq!(tegra, ["sm_72", "sm_87", "sm_101", "sm_110"]);
        assert!(!GpuArch::new(8, 6).is_integrated());
    }

    #[test]
    fn every_row_is_an_arch_a_manifest_can_name() {
        for facts in ARCHS {
            let arch = GpuArch::new(facts.major, facts.minor);
            assert_eq!(arch.to_string().parse::<GpuArch>().unwrap(), arch);
        }
        assert_eq!("sm_110".parse::<GpuArch>().unwrap(), GpuArch::new(11, 0));
        assert_eq!("sm_101".parse::<GpuArch>().unwrap(), GpuArch::new(10, 1));
    }

    #[test]
    fn one_row_per_arch() {
        let mut archs: Vec<GpuArch> = ARCHS
            .iter()
            .map(|facts| GpuArch::new(facts.major, facts.minor))
            .collect();
        let rows = archs.len();
        archs.sort();
        archs.dedup();
        assert_eq!(archs.len(), rows);
    }
}
