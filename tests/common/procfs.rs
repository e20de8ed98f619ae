//! The threads of a running process, read from `/proc/PID/task`.

/// One thread: its name and the fields of its `stat` after the parenthesised name
/// (`fields[0]` is the state, field 3 of proc(5); `fields[n]` is field n + 3).
pub struct ThreadStat {
    /// The thread's name (`comm`).
    pub name: String,
    /// `stat` fields after the name.
    pub fields: Vec<String>,
    /// True for the main thread (its id is the process id).
    pub main: bool,
}

/// Every thread of `pid` (threads that end meanwhile are left out).
pub fn threads(pid: u32) -> Vec<ThreadStat> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc/PID/task") {
        let dir = entry.unwrap().path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        out.push(ThreadStat {
            name: comm.trim().to_string(),
            fields: rest.split(' ').map(str::to_string).collect(),
            main: dir.ends_with(pid.to_string()),
        });
    }
    out
}
