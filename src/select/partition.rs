//! `--partition hash:K/N` and `slice:K/N`: spec files split across N CI
//! runners so that together they run every file exactly once.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// Stable: a file keeps its shard when others are added.
    Hash { k: usize, n: usize },
    /// Even: the K-th of every N files, in sorted order.
    Slice { k: usize, n: usize },
}

pub fn parse_partition(text: &str) -> Result<Partition, String> {
    let bad =
        || format!("`{text}` is not a partition: write `hash:K/N` or `slice:K/N` with 1 <= K <= N");
    let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
    let (k, n) = rest.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    match kind {
        "hash" => Ok(Partition::Hash { k, n }),
        "slice" => Ok(Partition::Slice { k, n }),
        _ => Err(bad()),
    }
}

impl Partition {
    /// The files of this shard, from the whole sorted list.
    pub fn select<T: AsRef<std::path::Path>>(&self, files: Vec<T>) -> Vec<T> {
        match *self {
            Partition::Hash { k, n } => files
                .into_iter()
                .filter(|f| {
                    let key = f.as_ref().to_string_lossy().replace('\\', "/");
                    let key = key.trim_start_matches("./");
                    (crate::fnv::fnv1a(key.as_bytes()) % n as u64) as usize == k - 1
                })
                .collect(),
            Partition::Slice { k, n } => files
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, f)| f)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_file_once() {
        let files: Vec<String> = (0..37).map(|i| format!("specs/s{i}.dspec")).collect();
        for make in [
            |k, n| Partition::Hash { k, n },
            |k, n| Partition::Slice { k, n },
        ] {
            let mut all: Vec<String> = (1..=4)
                .flat_map(|k| make(k, 4).select(files.clone()))
                .collect();
            all.sort();
            let mut want = files.clone();
            want.sort();
            assert_eq!(all, want);
        }
        assert!(parse_partition("hash:0/4").is_err());
        assert!(parse_partition("slice:5/4").is_err());
        assert_eq!(
            parse_partition("hash:2/4").unwrap(),
            Partition::Hash { k: 2, n: 4 }
        );
    }
}
