//! The two requests a GPO folder read is made of, each one round trip in the common case:
//! a directory listing as one compound CREATE + QUERY_DIRECTORY + CLOSE, and a file read as
//! smb2's compound CREATE + READ + CLOSE sized from the listing.
//!
//! smb2's own `Tree::list_directory` sends CREATE, QUERY_DIRECTORY until STATUS_NO_MORE_FILES,
//! and CLOSE one after the other (4 round trips per folder); SYSVOL walks are mostly folders,
//! so the listing is what sets the pace.

use smb2::client::connection::{CompoundOp, Connection, Frame};
use smb2::msg::close::CloseRequest;
use smb2::msg::create::{CreateDisposition, CreateRequest, CreateResponse, ImpersonationLevel, ShareAccess};
use smb2::msg::directory_info;
use smb2::msg::query_directory::{
    FileInformationClass, QueryDirectoryFlags, QueryDirectoryRequest, QueryDirectoryResponse,
};
use smb2::pack::{ReadCursor, Unpack};
use smb2::types::flags::{FileAccessMask, FileAttributes};
use smb2::types::status::NtStatus;
use smb2::types::{Command, CreditCharge, FileId, OplockLevel};
use smb2::{Error, Tree};

/// Create option: the target must be a directory (MS-SMB2 2.2.13).
const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;

/// QUERY_DIRECTORY output buffer: 64 KiB keeps the credit charge at 1 and holds ~500 entries.
const QUERY_BUFFER_LEN: u32 = 65536;

/// The largest FILE_BOTH_DIR_INFORMATION entry: 94 fixed bytes, a 255-unit UTF-16 name, and
/// 8-byte alignment. A server fills the buffer while the next entry fits, so an answer with
/// less than this left free is complete; one with less free may have been cut short.
const MAX_ENTRY_LEN: usize = 94 + 255 * 2 + 8;

/// One child of a listed folder (`.` and `..` already left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Child {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
}

/// The host part of `server` as smb2 stores it in `Tree::server` (`host:port` or `[v6]:port`).
fn host_of(server: &str) -> &str {
    if let Some(host) = server.strip_prefix('[').and_then(|rest| rest.split_once(']')).map(|(h, _)| h) {
        return host;
    }
    match server.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() && !host.contains(':') => host,
        _ => server,
    }
}

/// `path` (share-relative, `/`-separated) as the CREATE name smb2 would send for `tree`:
/// `Tree::format_path` is private, so this mirrors it — a DFS share wants `host\share\path`.
pub(super) fn wire_path(tree: &Tree, path: &str) -> String {
    let encoded = smb2::encode_path(path.trim_matches('/'));
    if !tree.is_dfs {
        return encoded;
    }
    let host = host_of(&tree.server);
    if encoded.is_empty() {
        format!("{host}\\{}", tree.share_name)
    } else {
        format!("{host}\\{}\\{encoded}", tree.share_name)
    }
}

fn status_error(status: NtStatus, command: Command) -> Error {
    Error::Protocol { status, command }
}

/// Lists `path` in one round trip; falls back to smb2's multi-trip listing only when the
/// answer filled the buffer (a folder of hundreds of entries, which GPOs do not have).
pub(super) async fn list_folder(conn: &mut Connection, tree: &Tree, path: &str) -> Result<Vec<Child>, Error> {
    let create = CreateRequest {
        requested_oplock_level: OplockLevel::None,
        impersonation_level: ImpersonationLevel::Impersonation,
        desired_access: FileAccessMask::new(
            FileAccessMask::FILE_READ_DATA | FileAccessMask::FILE_READ_ATTRIBUTES | FileAccessMask::SYNCHRONIZE,
        ),
        file_attributes: 0,
        share_access: ShareAccess(
            ShareAccess::FILE_SHARE_READ | ShareAccess::FILE_SHARE_WRITE | ShareAccess::FILE_SHARE_DELETE,
        ),
        create_disposition: CreateDisposition::FileOpen,
        create_options: FILE_DIRECTORY_FILE,
        name: wire_path(tree, path),
        create_contexts: vec![],
    };
    let query = QueryDirectoryRequest {
        file_information_class: FileInformationClass::FileBothDirectoryInformation,
        flags: QueryDirectoryFlags(QueryDirectoryFlags::RESTART_SCANS),
        file_index: 0,
        file_id: FileId::SENTINEL,
        output_buffer_length: QUERY_BUFFER_LEN,
        file_name: "*".to_string(),
    };
    let close = CloseRequest { flags: 0, file_id: FileId::SENTINEL };
    let ops = [
        CompoundOp {
            command: Command::Create,
            body: &create,
            tree_id: Some(tree.tree_id),
            credit_charge: CreditCharge(1),
        },
        CompoundOp {
            command: Command::QueryDirectory,
            body: &query,
            tree_id: Some(tree.tree_id),
            credit_charge: CreditCharge(1),
        },
        CompoundOp {
            command: Command::Close,
            body: &close,
            tree_id: Some(tree.tree_id),
            credit_charge: CreditCharge(1),
        },
    ];
    let frames = conn.execute_compound(&ops).await?;
    let [create_frame, query_frame, close_frame] = three_frames(frames)?;

    if create_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(create_frame.header.status, Command::Create));
    }
    let file_id = CreateResponse::unpack(&mut ReadCursor::new(&create_frame.body))?.file_id;
    if close_frame.header.status != NtStatus::SUCCESS {
        // A server that fails the CLOSE after a failed QUERY_DIRECTORY (MS-SMB2 3.3.5.2.7.2
        // lets it) still holds the handle: close it on its own, best effort.
        let _ = tree.close_handle(conn, file_id).await;
    }

    let children = match query_frame.header.status {
        NtStatus::NO_MORE_FILES => return Ok(Vec::new()),
        NtStatus::SUCCESS => {
            let resp = QueryDirectoryResponse::unpack(&mut ReadCursor::new(&query_frame.body))?;
            if resp.output_buffer.len() + MAX_ENTRY_LEN > QUERY_BUFFER_LEN as usize {
                return list_folder_fully(conn, tree, path).await;
            }
            directory_info::parse_entries(FileInformationClass::FileBothDirectoryInformation, &resp.output_buffer)?
                .into_iter()
                .map(|e| Child {
                    name: smb2::decode_name(&e.file_name).into_owned(),
                    is_dir: FileAttributes::new(e.file_attributes).is_directory(),
                    size: e.end_of_file,
                })
                .filter(|c| c.name != "." && c.name != "..")
                .collect()
        }
        other => return Err(status_error(other, Command::QueryDirectory)),
    };
    Ok(children)
}

fn three_frames(frames: Vec<Result<Frame, Error>>) -> Result<[Frame; 3], Error> {
    let frames = frames.into_iter().collect::<Result<Vec<_>, _>>()?;
    let count = frames.len();
    <[Frame; 3]>::try_from(frames).map_err(|_| Error::InvalidData {
        message: format!("compound listing answered with {count} frames, expected 3"),
    })
}

/// smb2's own listing, which loops QUERY_DIRECTORY until the server says there is no more.
async fn list_folder_fully(conn: &mut Connection, tree: &Tree, path: &str) -> Result<Vec<Child>, Error> {
    Ok(tree
        .list_directory(conn, path)
        .await?
        .into_iter()
        .filter(|e| e.name != "." && e.name != "..")
        .map(|e| Child { name: e.name, is_dir: e.is_directory, size: e.size })
        .collect())
}

/// Reads a whole file whose size the listing gave: one compound round trip, or pipelined
/// READs when it is larger than one READ may carry (or grew since the listing).
pub(super) async fn read_file(conn: &mut Connection, tree: &Tree, path: &str, size: u64) -> Result<Vec<u8>, Error> {
    match tree.read_file_compound_sized(conn, path, size).await {
        Err(Error::FileTooLargeForSingleRead { .. }) => tree.read_file_pipelined(conn, path).await,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_ports_but_keeps_v6_literals() {
        assert_eq!(host_of("127.0.0.1:445"), "127.0.0.1");
        assert_eq!(host_of("dc1.corp.example.test"), "dc1.corp.example.test");
        assert_eq!(host_of("[fe80::1]:445"), "fe80::1");
        assert_eq!(host_of("fe80::1"), "fe80::1");
    }
}
