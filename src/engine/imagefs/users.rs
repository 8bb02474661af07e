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

/// Who an image's processes run as: what the runtime (runc's `GetExecUser`) makes of a
/// `USER` value with the image's `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    /// Supplementary groups.
    pub sgids: Vec<u32>,
    /// The passwd entry's name when one matched.
    pub name: Option<String>,
}

impl ExecUser {
    /// Root, with no supplementary group.
    pub fn root() -> ExecUser {
        ExecUser {
            uid: 0,
            gid: 0,
            sgids: Vec::new(),
            name: None,
        }
    }

    /// Whether the user is in group `gid` (primary or supplementary).
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.sgids.contains(&gid)
    }
}

/// A user account, as `getent passwd NAME` and `id -Gn NAME` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    /// The primary group's name (its number when `/etc/group` has no such group), then every
    /// group that lists the user as a member, in file order, without repeats: `id -Gn NAME`.
    pub groups: Vec<String>,
}

impl Users {
    /// The account named `name`.
    pub fn account(&self, name: &str) -> Option<Account> {
        let u = self.user(name)?;
        let mut gids = vec![u.gid];
        for g in &self.groups {
            if g.members.iter().any(|m| m == name) && !gids.contains(&g.gid) {
                gids.push(g.gid);
            }
        }
        Some(Account {
            name: u.name.clone(),
            uid: u.uid,
            gid: u.gid,
            home: u.home.clone(),
            shell: u.shell.clone(),
            groups: gids
                .iter()
                .map(|gid| {
                    self.group_name(*gid)
                        .map(str::to_string)
                        .unwrap_or_else(|| gid.to_string())
                })
                .collect(),
        })
    }

    /// What the runtime runs a process as for the `USER` value `spec` (`name`, `uid`,
    /// `name:group`, `uid:gid`, empty for root), following runc's `GetExecUser`:
    /// * the user part is a uid when numeric (an entry with that uid is used when there is
    ///   one), else a name that must be in `/etc/passwd`;
    /// * an explicit group (name, or gid) replaces the primary group and gives no
    ///   supplementary groups;
    /// * without one, the primary group is the passwd entry's, and the supplementary groups
    ///   are those that list the entry's name as a member.
    ///
    /// Errors name what is missing, as the runtime would refuse to start the container.
    pub fn exec_user(&self, spec: &str) -> Result<ExecUser, String> {
        let (u, g) = match spec.split_once(':') {
            Some((u, g)) => (u, g),
            None => (spec, ""),
        };
        let mut out = ExecUser::root();
        let entry = if u.is_empty() {
            self.user_by_uid(0)
        } else if let Ok(n) = u.parse::<u32>() {
            out.uid = n;
            self.user_by_uid(n)
        } else {
            Some(
                self.user(u)
                    .ok_or_else(|| format!("the user `{u}` is not in the image's /etc/passwd"))?,
            )
        };
        if let Some(e) = entry {
            out.uid = e.uid;
            out.gid = e.gid;
            out.name = Some(e.name.clone());
        }
        if !g.is_empty() {
            out.gid = match g.parse::<u32>() {
                Ok(n) => self.group_by_gid(n).map(|x| x.gid).unwrap_or(n),
                Err(_) => self
                    .gid_of(g)
                    .ok_or_else(|| format!("the group `{g}` is not in the image's /etc/group"))?,
            };
        } else if let Some(name) = &out.name {
            out.sgids = self
                .groups
                .iter()
                .filter(|grp| grp.members.iter().any(|m| m == name))
                .map(|grp| grp.gid)
                .collect();
        }
        Ok(out)
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
    fn accounts_and_exec_users() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/appuser:/usr/sbin/nologin\nsolo:x:1500:4242::/:/bin/sh\n";
        let group = "root:x:0:\nwheel:x:10:root,appuser\napp:x:1000:\ndocker:x:999:appuser\nagain:x:10:appuser\n";
        let u = Users::parse(passwd, group);
        let a = u.account("appuser").unwrap();
        assert_eq!((a.uid, a.gid), (1000, 1000));
        assert_eq!(a.home, "/home/appuser");
        assert_eq!(a.shell, "/usr/sbin/nologin");
        assert_eq!(a.groups, vec!["app", "wheel", "docker"]);
        // A primary group without an entry shows as its number.
        assert_eq!(u.account("solo").unwrap().groups, vec!["4242"]);
        assert!(u.account("ghost").is_none());

        let e = u.exec_user("appuser").unwrap();
        assert_eq!(
            (e.uid, e.gid, e.sgids.clone()),
            (1000, 1000, vec![10, 999, 10])
        );
        assert!(e.in_group(999) && e.in_group(1000) && !e.in_group(0));
        // A numeric uid with an entry: the entry's groups.
        assert_eq!(u.exec_user("1000").unwrap().sgids, vec![10, 999, 10]);
        // An explicit group: no supplementary groups.
        let e = u.exec_user("1000:1000").unwrap();
        assert_eq!((e.uid, e.gid, e.sgids.len()), (1000, 1000, 0));
        assert_eq!(u.exec_user("appuser:docker").unwrap().gid, 999);
        // Unknown numeric ids are fine, unknown names are not.
        let e = u.exec_user("4321:8765").unwrap();
        assert_eq!((e.uid, e.gid, e.name), (4321, 8765, None));
        assert_eq!(u.exec_user("4321").unwrap().gid, 0);
        assert!(u.exec_user("ghost").is_err());
        assert!(u.exec_user("appuser:nogroup").is_err());
        // Empty: root, with root's groups.
        let e = u.exec_user("").unwrap();
        assert_eq!((e.uid, e.gid, e.sgids.clone()), (0, 0, vec![10]));
        assert_eq!(Users::default().exec_user("").unwrap(), ExecUser::root());
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
