//! Users and groups from an image's `/etc/passwd` and `/etc/group`.
//!
//! Lookups follow `getpwnam`/`getpwuid`/`getgrnam`/`getgrgid` over files:
//! the first matching line wins. Blank lines, `#` comments, NIS `+`/`-`
//! lines and lines with too few fields or non-numeric ids are skipped.
//! Only `std` is used.

/// One `/etc/passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// One `/etc/group` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    /// Supplementary members (the 4th field), in file order.
    pub members: Vec<String>,
}

/// The users and groups of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with('+') && !t.starts_with('-')
    })
}

impl Users {
    /// Parses the contents of `/etc/passwd` and `/etc/group` (either may be
    /// empty, e.g. when the image has no such file).
    pub fn parse(passwd: &str, group: &str) -> Users {
        let users = lines(passwd)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                if f.len() < 4 || f[0].is_empty() {
                    return None;
                }
                Some(User {
                    name: f[0].to_string(),
                    uid: f[2].trim().parse().ok()?,
                    gid: f[3].trim().parse().ok()?,
                    home: f.get(5).unwrap_or(&"").to_string(),
                    shell: f.get(6).unwrap_or(&"").to_string(),
                })
            })
            .collect();
        let groups = lines(group)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                if f.len() < 3 || f[0].is_empty() {
                    return None;
                }
                Some(Group {
                    name: f[0].to_string(),
                    gid: f[2].trim().parse().ok()?,
                    members: f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        Users { users, groups }
    }

    /// Like [`Users::parse`] for raw bytes (invalid UTF-8 is replaced).
    pub fn parse_bytes(passwd: &[u8], group: &[u8]) -> Users {
        Self::parse(
            &String::from_utf8_lossy(passwd),
            &String::from_utf8_lossy(group),
        )
    }

    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The first user with `uid`.
    pub fn user_by_uid(&self, uid: u32) -> Option<&User> {
        self.users.iter().find(|u| u.uid == uid)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The first group with `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Option<&Group> {
        self.groups.iter().find(|g| g.gid == gid)
    }

    /// name → uid.
    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.user(name).map(|u| u.uid)
    }

    /// uid → name.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.user_by_uid(uid).map(|u| u.name.as_str())
    }

    /// group name → gid.
    pub fn gid_of(&self, name: &str) -> Option<u32> {
        self.group(name).map(|g| g.gid)
    }

    /// gid → group name.
    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.group_by_gid(gid).map(|g| g.name.as_str())
    }

    /// Resolves a Docker `USER` value (`name`, `uid`, `name:group`,
    /// `uid:gid`, ...) to numeric (uid, gid) the way the runtime does: a
    /// numeric part is taken as is; a name must exist; without a group, the
    /// user's primary gid (or 0 for an unknown numeric uid). Empty means root.
    pub fn resolve_user_spec(&self, spec: &str) -> Option<(u32, u32)> {
        let (u, g) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        let (uid, primary) = if u.is_empty() {
            (0, self.user_by_uid(0).map(|x| x.gid).unwrap_or(0))
        } else if let Ok(n) = u.parse::<u32>() {
            (n, self.user_by_uid(n).map(|x| x.gid).unwrap_or(0))
        } else {
            let user = self.user(u)?;
            (user.uid, user.gid)
        };
        let gid = match g {
            None | Some("") => primary,
            Some(g) => match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => self.gid_of(g)?,
            },
        };
        Some((uid, gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        # comment\n\
        \n\
        appuser:x:1000:1000::/home/appuser:/bin/sh\r\n\
        dup:x:1000:2000::/:/bin/false\n\
        broken:x:abc:1\n\
        +nisuser\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root, appuser\napp:x:1000:\nshort\n";

    #[test]
    fn lookups() {
        let u = Users::parse(PASSWD, GROUP);
        assert_eq!(u.users.len(), 4);
        assert_eq!(u.uid_of("appuser"), Some(1000));
        assert_eq!(u.user_name(1000), Some("appuser")); // first wins
        assert_eq!(u.user("appuser").unwrap().home, "/home/appuser");
        assert_eq!(u.user("appuser").unwrap().shell, "/bin/sh");
        assert_eq!(u.uid_of("broken"), None);
        assert_eq!(u.uid_of("nobody"), Some(65534));
        assert_eq!(u.gid_of("wheel"), Some(10));
        assert_eq!(u.group_name(1000), Some("app"));
        assert_eq!(u.group("wheel").unwrap().members, vec!["root", "appuser"]);
        assert_eq!(u.group_name(4242), None);
    }

    #[test]
    fn user_specs() {
        let u = Users::parse(PASSWD, GROUP);
        assert_eq!(u.resolve_user_spec(""), Some((0, 0)));
        assert_eq!(u.resolve_user_spec("appuser"), Some((1000, 1000)));
        assert_eq!(u.resolve_user_spec("appuser:wheel"), Some((1000, 10)));
        assert_eq!(u.resolve_user_spec("1234"), Some((1234, 0)));
        assert_eq!(u.resolve_user_spec("1234:5678"), Some((1234, 5678)));
        assert_eq!(u.resolve_user_spec("ghost"), None);
        assert_eq!(u.resolve_user_spec("root:nogroup"), None);
        let empty = Users::parse_bytes(b"", b"");
        assert_eq!(empty.resolve_user_spec("0"), Some((0, 0)));
    }
}
