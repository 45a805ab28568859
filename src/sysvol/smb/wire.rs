//! The two requests a GPO folder read is made of, each one round trip in the common case:
//! a directory listing as one compound CREATE + QUERY_DIRECTORY + CLOSE, and a file read as
//! smb2's compound CREATE + READ + CLOSE sized from the listing. A restore, which must know each
//! item's NT ACL, asks for it in the same compounds (one QUERY_INFO more in each).
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
use smb2::msg::query_info::{InfoType, QueryInfoRequest, QueryInfoResponse};
use smb2::msg::read::{ReadRequest, ReadResponse, SMB2_CHANNEL_NONE};
use smb2::pack::{ReadCursor, Unpack};
use smb2::types::flags::{FileAccessMask, FileAttributes};
use smb2::types::status::NtStatus;
use smb2::types::{Command, CreditCharge, FileId, OplockLevel};
use smb2::{Error, Tree};

/// Create option: the target must be a directory (MS-SMB2 2.2.13).
const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;

/// OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
/// (MS-DTYP 2.4.7): the SACL is neither read nor written (that needs a privilege).
pub(super) const OWNER_GROUP_DACL: u32 = 0x1 | 0x2 | 0x4;

/// Room for a descriptor: GPO ACLs take a few hundred bytes.
const SECURITY_BUFFER_LEN: u32 = 64 * 1024;

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
    Ok(list_compound(conn, tree, path, false).await?.0)
}

/// [`list_folder`], and the folder's owner, group and DACL (self-relative) from the same
/// compound: CREATE + QUERY_DIRECTORY + QUERY_INFO + CLOSE.
pub(super) async fn list_folder_with_security(
    conn: &mut Connection,
    tree: &Tree,
    path: &str,
) -> Result<(Vec<Child>, Vec<u8>), Error> {
    match list_compound(conn, tree, path, true).await? {
        (children, Some(sd)) => Ok((children, sd)),
        (children, None) => Ok((children, super::write::read_security(conn, tree, path).await?)),
    }
}

/// The listing compound, with the security query when `with_security`; the descriptor is
/// `None` when it was not asked for or the listing had to be done the long way.
async fn list_compound(
    conn: &mut Connection,
    tree: &Tree,
    path: &str,
    with_security: bool,
) -> Result<(Vec<Child>, Option<Vec<u8>>), Error> {
    let mut access =
        FileAccessMask::FILE_READ_DATA | FileAccessMask::FILE_READ_ATTRIBUTES | FileAccessMask::SYNCHRONIZE;
    if with_security {
        access |= FileAccessMask::READ_CONTROL;
    }
    let create = open_request(tree, path, access, FILE_DIRECTORY_FILE);
    let query = QueryDirectoryRequest {
        file_information_class: FileInformationClass::FileBothDirectoryInformation,
        flags: QueryDirectoryFlags(QueryDirectoryFlags::RESTART_SCANS),
        file_index: 0,
        file_id: FileId::SENTINEL,
        output_buffer_length: QUERY_BUFFER_LEN,
        file_name: "*".to_string(),
    };
    let security = security_query();
    let close = CloseRequest { flags: 0, file_id: FileId::SENTINEL };
    let op = |command, body| CompoundOp { command, body, tree_id: Some(tree.tree_id), credit_charge: CreditCharge(1) };
    let mut ops = vec![op(Command::Create, &create), op(Command::QueryDirectory, &query)];
    if with_security {
        ops.push(op(Command::QueryInfo, &security));
    }
    ops.push(op(Command::Close, &close));
    let mut frames = all_frames(conn.execute_compound(&ops).await?, ops.len())?;
    let close_frame = frames.pop().expect("counted");
    let security_frame = with_security.then(|| frames.pop().expect("counted"));
    let [create_frame, query_frame] = <[Frame; 2]>::try_from(frames).map_err(|_| unreachable_count())?;

    if create_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(create_frame.header.status, Command::Create));
    }
    let file_id = CreateResponse::unpack(&mut ReadCursor::new(&create_frame.body))?.file_id;
    if close_frame.header.status != NtStatus::SUCCESS {
        // A server that fails the CLOSE after a failed QUERY_DIRECTORY (MS-SMB2 3.3.5.2.7.2
        // lets it) still holds the handle: close it on its own, best effort.
        let _ = tree.close_handle(conn, file_id).await;
    }
    let sd = match security_frame {
        Some(frame) if frame.header.status == NtStatus::SUCCESS => {
            Some(QueryInfoResponse::unpack(&mut ReadCursor::new(&frame.body))?.output_buffer)
        }
        Some(frame) => return Err(status_error(frame.header.status, Command::QueryInfo)),
        None => None,
    };

    let children = match query_frame.header.status {
        NtStatus::NO_MORE_FILES => Vec::new(),
        NtStatus::SUCCESS => {
            let resp = QueryDirectoryResponse::unpack(&mut ReadCursor::new(&query_frame.body))?;
            if resp.output_buffer.len() + MAX_ENTRY_LEN > QUERY_BUFFER_LEN as usize {
                return Ok((list_folder_fully(conn, tree, path).await?, None));
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
    Ok((children, sd))
}

/// CREATE of an existing `path` with `access`, sharing everything (other readers and writers
/// of SYSVOL are not in the way), for a compound whose next requests use its handle.
pub(super) fn open_request(tree: &Tree, path: &str, access: u32, create_options: u32) -> CreateRequest {
    CreateRequest {
        requested_oplock_level: OplockLevel::None,
        impersonation_level: ImpersonationLevel::Impersonation,
        desired_access: FileAccessMask::new(access),
        file_attributes: 0,
        share_access: ShareAccess(
            ShareAccess::FILE_SHARE_READ | ShareAccess::FILE_SHARE_WRITE | ShareAccess::FILE_SHARE_DELETE,
        ),
        create_disposition: CreateDisposition::FileOpen,
        create_options,
        name: wire_path(tree, path),
        create_contexts: vec![],
    }
}

/// QUERY_INFO of owner, group and DACL (the SACL needs a privilege), on the compound's handle.
pub(super) fn security_query() -> QueryInfoRequest {
    QueryInfoRequest {
        info_type: InfoType::Security,
        file_info_class: 0,
        output_buffer_length: SECURITY_BUFFER_LEN,
        additional_information: OWNER_GROUP_DACL,
        flags: 0,
        file_id: FileId::SENTINEL,
        input_buffer: vec![],
    }
}

fn all_frames(frames: Vec<Result<Frame, Error>>, expected: usize) -> Result<Vec<Frame>, Error> {
    let frames = frames.into_iter().collect::<Result<Vec<_>, _>>()?;
    if frames.len() != expected {
        return Err(Error::InvalidData {
            message: format!("compound answered with {} frames, expected {expected}", frames.len()),
        });
    }
    Ok(frames)
}

fn unreachable_count() -> Error {
    Error::InvalidData { message: "compound frames miscounted (a bug in gpvault)".into() }
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

/// [`read_file`], and the file's owner, group and DACL (self-relative), in one compound
/// CREATE + READ + QUERY_INFO + CLOSE; a file too large for one READ is read the long way.
pub(super) async fn read_file_with_security(
    conn: &mut Connection,
    tree: &Tree,
    path: &str,
    size: u64,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let max_read = conn.params().map(|p| p.max_read_size).unwrap_or(65536);
    // A zero-length READ charges no credit, which the protocol does not allow: ask for one byte.
    let requested = size.min(u64::from(max_read)).max(1) as u32;
    let access = FileAccessMask::FILE_READ_DATA
        | FileAccessMask::FILE_READ_ATTRIBUTES
        | FileAccessMask::READ_CONTROL
        | FileAccessMask::SYNCHRONIZE;
    let create = open_request(tree, path, access, 0);
    let read = ReadRequest {
        padding: 0x50,
        flags: 0,
        length: requested,
        offset: 0,
        file_id: FileId::SENTINEL,
        minimum_count: 0,
        channel: SMB2_CHANNEL_NONE,
        remaining_bytes: 0,
        read_channel_info: vec![],
    };
    let security = security_query();
    let close = CloseRequest { flags: 0, file_id: FileId::SENTINEL };
    let op = |command, body, charge| CompoundOp {
        command,
        body,
        tree_id: Some(tree.tree_id),
        credit_charge: CreditCharge(charge),
    };
    let ops = [
        op(Command::Create, &create, 1),
        op(Command::Read, &read, u64::from(requested).div_ceil(65536).max(1) as u16),
        op(Command::QueryInfo, &security, 1),
        op(Command::Close, &close, 1),
    ];
    let frames = all_frames(conn.execute_compound(&ops).await?, ops.len())?;
    let [create_frame, read_frame, security_frame, close_frame] =
        <[Frame; 4]>::try_from(frames).map_err(|_| unreachable_count())?;
    if create_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(create_frame.header.status, Command::Create));
    }
    let created = CreateResponse::unpack(&mut ReadCursor::new(&create_frame.body))?;
    if close_frame.header.status != NtStatus::SUCCESS {
        // A failed request in the middle may cascade onto the CLOSE: the handle is still open.
        let _ = tree.close_handle(conn, created.file_id).await;
    }
    if created.end_of_file > u64::from(requested) {
        // Larger than one READ carries, or grown since the listing.
        let bytes = tree.read_file_pipelined(conn, path).await?;
        return Ok((bytes, super::write::read_security(conn, tree, path).await?));
    }
    let bytes = match read_frame.header.status {
        NtStatus::END_OF_FILE => Vec::new(),
        NtStatus::SUCCESS => ReadResponse::unpack(&mut ReadCursor::new(&read_frame.body))?.data,
        other => return Err(status_error(other, Command::Read)),
    };
    if security_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(security_frame.header.status, Command::QueryInfo));
    }
    let sd = QueryInfoResponse::unpack(&mut ReadCursor::new(&security_frame.body))?.output_buffer;
    Ok((bytes, sd))
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
