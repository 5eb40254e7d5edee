//! `cl_status`: see [`hb_api::cl_status`].

extern "C" fn on_alarm(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(hb_api::cl_status::TIMEOUT) }
}

fn main() {
    // As the original: give up after 5 seconds whatever the daemon does (exit 12).
    // SAFETY: the handler only calls _exit.
    unsafe {
        libc::signal(libc::SIGALRM, on_alarm as *const () as libc::sighandler_t);
        libc::alarm(hb_api::cl_status::ALARM_SECONDS);
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let posix = std::env::var_os("POSIXLY_CORRECT").is_some();
    let rc = {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        let mut io = hb_api::cl_status::Io {
            out: &mut out,
            err: &mut err,
            syslog: true,
        };
        hb_api::cl_status::run(&args, posix, &mut io)
    };
    std::process::exit(rc);
}
