//! Translation of bollard errors into [`EngineError`], with the object the call was about so
//! that a 404 becomes "image not found" or "container not found".

use bollard::errors::Error as BollardError;

use super::error::EngineError;

/// What a failing call was about; decides what a 404 means.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// An image reference.
    Image(&'a str),
    /// A container ID or name.
    Container(&'a str),
    /// Creating a container from this image: a 404 is about the image or, for instance, a
    /// missing network.
    Create(&'a str),
    /// Anything else (networks, volumes, lists, …): a 404 stays an API error.
    Other,
}

/// Maps a bollard error. `host` is the daemon address, used when the connection failed.
pub(crate) fn map_err(err: BollardError, host: &str, subject: Subject<'_>) -> EngineError {
    match err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => match (status_code, subject) {
            (404, Subject::Image(reference)) => EngineError::ImageNotFound {
                reference: reference.to_string(),
            },
            (404, Subject::Container(id)) if message.starts_with("No such container") => {
                EngineError::ContainerNotFound { id: id.to_string() }
            }
            (404, Subject::Create(image)) if message.starts_with("No such image") => {
                EngineError::ImageNotFound {
                    reference: image.to_string(),
                }
            }
            _ => EngineError::Api {
                status: status_code,
                message: message.trim().to_string(),
            },
        },
        BollardError::RequestTimeoutError => EngineError::Timeout {
            what: "Docker API request".to_string(),
            after: super::connect::REQUEST_TIMEOUT,
        },
        BollardError::HyperLegacyError { err } => EngineError::Unreachable {
            host: host.to_string(),
            reason: source_chain(&err),
        },
        BollardError::SocketNotFoundError(path) => EngineError::Unreachable {
            host: host.to_string(),
            reason: format!("socket {path} does not exist"),
        },
        BollardError::IOError { err } => EngineError::Io(err),
        other => EngineError::Api {
            status: 0,
            message: other.to_string(),
        },
    }
}

/// The error and its causes, joined by `: ` (hyper hides the useful part in the sources).
pub(crate) fn source_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// True for a 404 answer (object already gone), used by clean-up.
pub(crate) fn is_not_found(err: &EngineError) -> bool {
    matches!(
        err,
        EngineError::ImageNotFound { .. }
            | EngineError::ContainerNotFound { .. }
            | EngineError::Api { status: 404, .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn a_404_depends_on_the_subject() {
        let e = map_err(server(404, "no such image"), "h", Subject::Image("x:1"));
        assert!(matches!(e, EngineError::ImageNotFound { reference } if reference == "x:1"));
        let e = map_err(
            server(404, "No such container: c"),
            "h",
            Subject::Container("c"),
        );
        assert!(matches!(e, EngineError::ContainerNotFound { id } if id == "c"));
        let e = map_err(
            server(404, "No such image: y:2"),
            "h",
            Subject::Create("y:2"),
        );
        assert!(matches!(e, EngineError::ImageNotFound { reference } if reference == "y:2"));
        // A 404 about something else stays an API error with the daemon's message.
        let e = map_err(
            server(404, "network n1 not found"),
            "h",
            Subject::Create("y:2"),
        );
        assert!(matches!(e, EngineError::Api { status: 404, .. }));
        let e = map_err(
            server(404, "network n1 not found"),
            "h",
            Subject::Container("c"),
        );
        assert!(matches!(e, EngineError::Api { status: 404, .. }));
        let e = map_err(server(404, "network n not found"), "h", Subject::Other);
        assert!(matches!(e, EngineError::Api { status: 404, .. }));
    }

    #[test]
    fn other_statuses_are_api_errors() {
        let e = map_err(server(409, "Conflict.\n"), "h", Subject::Container("c"));
        assert!(matches!(e, EngineError::Api { status: 409, message } if message == "Conflict."));
    }

    #[test]
    fn missing_socket_is_unreachable() {
        let e = map_err(
            BollardError::SocketNotFoundError("/x.sock".into()),
            "unix:///x.sock",
            Subject::Other,
        );
        assert!(matches!(e, EngineError::Unreachable { host, .. } if host == "unix:///x.sock"));
    }
}
