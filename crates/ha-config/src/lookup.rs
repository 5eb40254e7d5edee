//! Where a haresources resource is found: the one lookup of the daemon, `ResourceManager`,
//! the config test and the CIB export.
//!
//! In order, as 2.0.8's ResourceManager (`scriptpath`) and then one step further:
//! 1. `resource.d/NAME`, then each init directory's `NAME` ([`crate::locate_script`]): the
//!    first regular executable file wins, run as `PATH ARGS OP`;
//! 2. beyond the original: a systemd unit `NAME.service` in the unit directories
//!    ([`UNIT_DIRS`]), run through `systemctl` (see `hb_runner::resource::invoke`).
//!
//! Only files are looked at (no D-Bus, no `systemctl` run), so a lookup costs what the
//! script lookup always cost and can happen where it always happened.

use std::path::{Path, PathBuf};

use crate::haresources::locate_script;

/// The directories where systemd keeps unit files, in its order of precedence (a unit in
/// /etc/systemd/system hides one of the same name in /usr/lib/systemd/system).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// A resource's script, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// An executable in resource.d or an init directory: run as `PATH ARGS OP`.
    Script(PathBuf),
    /// A systemd service: run through `systemctl OP UNIT`.
    Unit {
        /// The unit's full name (`httpd.service`, `openvpn@site.service`).
        unit: String,
        /// The file that defines it (for an instance, possibly its template's).
        file: PathBuf,
    },
}

/// Where resources are looked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// Looked at first: `HA_DIR/resource.d` (or `$HA_RESOURCEDIR` for ResourceManager).
    pub resource_dir: PathBuf,
    /// Then these ([`crate::INIT_DIRS`]).
    pub init_dirs: Vec<PathBuf>,
    /// Then a unit in these ([`UNIT_DIRS`]).
    pub unit_dirs: Vec<PathBuf>,
}

impl Lookup {
    /// This machine's directories, with `resource_dir` first.
    pub fn system(resource_dir: impl Into<PathBuf>) -> Lookup {
        Lookup {
            resource_dir: resource_dir.into(),
            init_dirs: crate::INIT_DIRS.iter().map(PathBuf::from).collect(),
            unit_dirs: UNIT_DIRS.iter().map(PathBuf::from).collect(),
        }
    }

    /// The script or unit the resource `name` (a script name, as
    /// [`crate::Resource::parse`] gives it) runs.
    pub fn locate(&self, name: &str) -> Option<Located> {
        if let Some(path) = locate_script(&self.resource_dir, &self.init_dirs, name) {
            return Some(Located::Script(path));
        }
        locate_unit(&self.unit_dirs, name).map(|(unit, file)| Located::Unit { unit, file })
    }
}

/// The service unit a resource name stands for: `NAME.service` (`NAME` itself when it
/// already ends in `.service`), when `NAME` is a valid unit name: ASCII letters, digits and
/// `:-_.\`, not starting with a dot, at most one `@` with text on both sides (a template's
/// instance), 255 bytes at most with the suffix. `None` otherwise (a name with a slash, a
/// blank, or a template without an instance cannot be a unit).
pub fn unit_name(name: &str) -> Option<String> {
    let base = name.strip_suffix(".service").unwrap_or(name);
    if base.is_empty() || base.starts_with('.') || base.len() + ".service".len() > 255 {
        return None;
    }
    if !base
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
    {
        return None;
    }
    if let Some((prefix, instance)) = base.split_once('@') {
        if prefix.is_empty() || instance.is_empty() || instance.contains('@') {
            return None;
        }
    }
    Some(format!("{base}.service"))
}

/// What one directory says about a unit file.
enum UnitFile {
    /// Not there (or a dangling link, or not a file): look further.
    Absent,
    /// A unit file.
    Present,
    /// Linked to /dev/null or empty: systemd refuses to start it, whatever the later
    /// directories hold.
    Masked,
}

fn unit_file(path: &Path) -> UnitFile {
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return UnitFile::Absent;
    };
    if link.file_type().is_symlink()
        && std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null"))
    {
        return UnitFile::Masked;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => UnitFile::Masked,
        Ok(m) if m.is_file() => UnitFile::Present,
        Ok(m) if !m.is_dir() => UnitFile::Masked,
        _ => UnitFile::Absent,
    }
}

/// Finds the unit of the resource `name` ([`unit_name`]) in `unit_dirs`, in order, as
/// systemd does: the first directory holding the unit's file decides (a masked one means
/// no unit); an instance `NAME@INST` not found as such is its template `NAME@.service`.
/// Returns the unit's full name and its file.
pub fn locate_unit<P: AsRef<Path>>(unit_dirs: &[P], name: &str) -> Option<(String, PathBuf)> {
    let unit = unit_name(name)?;
    let mut files = vec![unit.clone()];
    if let Some((prefix, _)) = unit.split_once('@') {
        files.push(format!("{prefix}@.service"));
    }
    for file in files {
        for dir in unit_dirs {
            let path = dir.as_ref().join(&file);
            match unit_file(&path) {
                UnitFile::Absent => continue,
                UnitFile::Present => return Some((unit, path)),
                UnitFile::Masked => return None,
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(tag: &str) -> Dir {
        let base =
            std::env::temp_dir().join(format!("ha-config-lookup-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        for sub in [
            "resource.d",
            "init.d",
            "etc-system",
            "run-system",
            "lib-system",
        ] {
            fs::create_dir_all(base.join(sub)).unwrap();
        }
        Dir(base)
    }

    fn lookup(base: &Path) -> Lookup {
        Lookup {
            resource_dir: base.join("resource.d"),
            init_dirs: vec![base.join("init.d")],
            unit_dirs: ["etc-system", "run-system", "lib-system"]
                .iter()
                .map(|d| base.join(d))
                .collect(),
        }
    }

    fn script(path: &Path) {
        fs::write(path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn unit(path: &Path) {
        fs::write(path, "[Service]\nExecStart=/bin/true\n").unwrap();
    }

    fn found_unit(l: &Lookup, name: &str) -> Option<(String, PathBuf)> {
        match l.locate(name) {
            Some(Located::Unit { unit, file }) => Some((unit, file)),
            _ => None,
        }
    }

    #[test]
    fn names_that_can_be_units() {
        assert_eq!(unit_name("httpd").as_deref(), Some("httpd.service"));
        assert_eq!(unit_name("httpd.service").as_deref(), Some("httpd.service"));
        assert_eq!(unit_name("mariadb").as_deref(), Some("mariadb.service"));
        assert_eq!(
            unit_name("openvpn@site").as_deref(),
            Some("openvpn@site.service")
        );
        assert_eq!(
            unit_name("a:b_c-d.e\\x2d").as_deref(),
            Some("a:b_c-d.e\\x2d.service")
        );
        for bad in [
            "", ".service", ".hidden", "../httpd", "a/b", "a b", "nul\0x", "x@", "@x", "a@b@c",
            "é", "a\tb",
        ] {
            assert_eq!(unit_name(bad), None, "{bad:?}");
        }
        assert!(unit_name(&"x".repeat(247)).is_some());
        assert_eq!(unit_name(&"x".repeat(248)), None);
    }

    #[test]
    fn resource_d_then_init_dirs_then_units() {
        let d = scratch("order");
        let b = &d.0;
        let l = lookup(b);
        // A unit alone: found as a unit.
        unit(&b.join("lib-system/mariadb.service"));
        assert_eq!(
            l.locate("mariadb"),
            Some(Located::Unit {
                unit: "mariadb.service".into(),
                file: b.join("lib-system/mariadb.service")
            })
        );
        // An init script of the same name comes first (as 2.0.8 finds it).
        unit(&b.join("lib-system/httpd.service"));
        script(&b.join("init.d/httpd"));
        assert_eq!(
            l.locate("httpd"),
            Some(Located::Script(b.join("init.d/httpd")))
        );
        // resource.d comes before both.
        unit(&b.join("lib-system/IPaddr.service"));
        script(&b.join("resource.d/IPaddr"));
        assert_eq!(
            l.locate("IPaddr"),
            Some(Located::Script(b.join("resource.d/IPaddr")))
        );
        // A script that is not executable does not hide the unit.
        fs::write(b.join("init.d/db"), "#!/bin/sh\n").unwrap();
        unit(&b.join("lib-system/db.service"));
        assert!(found_unit(&l, "db").is_some());
        // Named with its suffix.
        assert_eq!(
            found_unit(&l, "mariadb.service"),
            Some((
                "mariadb.service".into(),
                b.join("lib-system/mariadb.service")
            ))
        );
        // Found nowhere.
        assert_eq!(l.locate("missing"), None);
        assert_eq!(l.locate(""), None);
        // No unit directories: no units.
        let mut none = l.clone();
        none.unit_dirs.clear();
        assert_eq!(none.locate("mariadb"), None);
    }

    #[test]
    fn unit_directories_in_systemds_order() {
        let d = scratch("prec");
        let b = &d.0;
        let l = lookup(b);
        unit(&b.join("lib-system/web.service"));
        unit(&b.join("run-system/web.service"));
        assert_eq!(
            found_unit(&l, "web").unwrap().1,
            b.join("run-system/web.service")
        );
        unit(&b.join("etc-system/web.service"));
        assert_eq!(
            found_unit(&l, "web").unwrap().1,
            b.join("etc-system/web.service")
        );
        // An alias link in /etc to the vendor's file counts.
        symlink(
            b.join("lib-system/web.service"),
            b.join("etc-system/www.service"),
        )
        .unwrap();
        assert_eq!(
            found_unit(&l, "www").unwrap().1,
            b.join("etc-system/www.service")
        );
        // A dangling link is not a unit; the next directory's file is.
        symlink(b.join("nowhere.service"), b.join("etc-system/gone.service")).unwrap();
        unit(&b.join("lib-system/gone.service"));
        assert_eq!(
            found_unit(&l, "gone").unwrap().1,
            b.join("lib-system/gone.service")
        );
        // A directory of that name is not a unit either.
        fs::create_dir_all(b.join("etc-system/dir.service")).unwrap();
        assert_eq!(l.locate("dir"), None);
    }

    #[test]
    fn a_masked_unit_is_no_unit() {
        let d = scratch("mask");
        let b = &d.0;
        let l = lookup(b);
        unit(&b.join("lib-system/httpd.service"));
        symlink("/dev/null", b.join("etc-system/httpd.service")).unwrap();
        assert_eq!(l.locate("httpd"), None);
        // An empty file masks too.
        unit(&b.join("lib-system/db.service"));
        fs::write(b.join("run-system/db.service"), "").unwrap();
        assert_eq!(l.locate("db"), None);
    }

    #[test]
    fn instances_fall_back_to_their_template() {
        let d = scratch("tmpl");
        let b = &d.0;
        let l = lookup(b);
        unit(&b.join("lib-system/openvpn@.service"));
        assert_eq!(
            found_unit(&l, "openvpn@site"),
            Some((
                "openvpn@site.service".into(),
                b.join("lib-system/openvpn@.service")
            ))
        );
        // The instance's own file, in any directory, comes before the template.
        unit(&b.join("lib-system/openvpn@main.service"));
        unit(&b.join("etc-system/openvpn@.service"));
        assert_eq!(
            found_unit(&l, "openvpn@main"),
            Some((
                "openvpn@main.service".into(),
                b.join("lib-system/openvpn@main.service")
            ))
        );
        // A template alone cannot run.
        assert_eq!(l.locate("openvpn@"), None);
    }
}
