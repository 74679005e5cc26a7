//! Whether this host is an EC2 instance (EKS nodes included), decided from files the kernel
//! exposes, without sending a packet: a laptop never waits on a metadata address that cannot
//! answer.

use std::path::Path;

/// Nitro instances say `Amazon EC2` in the DMI `sys_vendor` and carry their instance id
/// (`i-…`) as `board_asset_tag`; the older Xen instances have a hypervisor UUID that starts
/// with `ec2`. `sys` is `/sys` outside tests.
pub fn looks_like_ec2(sys: &Path) -> bool {
    let read = |relative: &str| std::fs::read_to_string(sys.join(relative)).unwrap_or_default();
    read("class/dmi/id/sys_vendor").trim() == "Amazon EC2"
        || read("class/dmi/id/board_asset_tag")
            .trim()
            .starts_with("i-")
        || read("hypervisor/uuid")
            .trim()
            .to_ascii_lowercase()
            .starts_with("ec2")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nitro_and_xen_instances_are_recognised_and_others_not() {
        let sys = tempfile::tempdir().unwrap();
        assert!(!looks_like_ec2(sys.path()));
        std::fs::create_dir_all(sys.path().join("class/dmi/id")).unwrap();
        std::fs::write(sys.path().join("class/dmi/id/sys_vendor"), "QEMU\n").unwrap();
        assert!(!looks_like_ec2(sys.path()));
        std::fs::write(
            sys.path().join("class/dmi/id/board_asset_tag"),
            "i-0abc123\n",
        )
        .unwrap();
        assert!(looks_like_ec2(sys.path()));

        let xen = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(xen.path().join("hypervisor")).unwrap();
        std::fs::write(xen.path().join("hypervisor/uuid"), "EC2E1916-9099-7CAF\n").unwrap();
        assert!(looks_like_ec2(xen.path()));
    }
}
