//! The SMB requests behind SYSVOL writes that smb2 has no call for: reading and setting a
//! security descriptor (CREATE + QUERY_INFO/SET_INFO + CLOSE in one compound), and deleting a
//! folder tree (smb2 deletes empty folders only).

use smb2::client::connection::{CompoundOp, Connection};
use smb2::msg::close::CloseRequest;
use smb2::msg::create::CreateResponse;
use smb2::msg::query_info::{InfoType, QueryInfoResponse};
use smb2::msg::set_info::SetInfoRequest;
use smb2::pack::{Pack, ReadCursor, Unpack};
use smb2::types::flags::FileAccessMask;
use smb2::types::status::NtStatus;
use smb2::types::{Command, CreditCharge, FileId};
use smb2::{Error, ErrorKind, Tree};

use super::wire;

pub(super) use super::wire::OWNER_GROUP_DACL;

/// FILE_BASIC_INFORMATION (MS-FSCC 2.4.7), to clear a read-only attribute before a delete.
const FILE_BASIC_INFORMATION: u8 = 4;
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;

fn status_error(status: NtStatus, command: Command) -> Error {
    Error::Protocol { status, command }
}

/// Opens `path` (file or folder) with `access`, runs `middle` on the handle, and closes it,
/// all in one compound; returns the middle answer's body.
async fn open_and(
    conn: &mut Connection,
    tree: &Tree,
    path: &str,
    access: u32,
    middle_command: Command,
    middle: &dyn Pack,
) -> Result<Vec<u8>, Error> {
    let create = wire::open_request(tree, path, access | FileAccessMask::SYNCHRONIZE, 0);
    let close = CloseRequest { flags: 0, file_id: FileId::SENTINEL };
    let op = |command, body| CompoundOp { command, body, tree_id: Some(tree.tree_id), credit_charge: CreditCharge(1) };
    let ops = [op(Command::Create, &create), op(middle_command, middle), op(Command::Close, &close)];
    let frames = conn.execute_compound(&ops).await?.into_iter().collect::<Result<Vec<_>, _>>()?;
    let [create_frame, middle_frame, close_frame] = <[_; 3]>::try_from(frames).map_err(|frames: Vec<_>| {
        Error::InvalidData { message: format!("compound answered with {} frames, expected 3", frames.len()) }
    })?;
    if create_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(create_frame.header.status, Command::Create));
    }
    if close_frame.header.status != NtStatus::SUCCESS {
        // A failed middle request may cascade onto the CLOSE: the handle is still open.
        let file_id = CreateResponse::unpack(&mut ReadCursor::new(&create_frame.body))?.file_id;
        let _ = tree.close_handle(conn, file_id).await;
    }
    if middle_frame.header.status != NtStatus::SUCCESS {
        return Err(status_error(middle_frame.header.status, middle_command));
    }
    Ok(middle_frame.body)
}

/// The self-relative security descriptor of `path`: owner, group and DACL.
pub(super) async fn read_security(conn: &mut Connection, tree: &Tree, path: &str) -> Result<Vec<u8>, Error> {
    let query = wire::security_query();
    let body = open_and(conn, tree, path, FileAccessMask::READ_CONTROL, Command::QueryInfo, &query).await?;
    Ok(QueryInfoResponse::unpack(&mut ReadCursor::new(&body))?.output_buffer)
}

/// Sets the parts of `path`'s security descriptor named by `information` from `sd` (self-relative).
pub(super) async fn set_security(
    conn: &mut Connection,
    tree: &Tree,
    path: &str,
    sd: &[u8],
    information: u32,
) -> Result<(), Error> {
    let set = SetInfoRequest {
        info_type: InfoType::Security,
        file_info_class: 0,
        additional_information: information,
        file_id: FileId::SENTINEL,
        buffer: sd.to_vec(),
    };
    let mut access = FileAccessMask::READ_CONTROL;
    if information & 0x4 != 0 {
        access |= FileAccessMask::WRITE_DAC;
    }
    if information & 0x3 != 0 {
        access |= FileAccessMask::WRITE_OWNER;
    }
    open_and(conn, tree, path, access, Command::SetInfo, &set).await.map(drop)
}

/// Clears the read-only (and every other) attribute of `path`: zero times mean "leave as is".
async fn clear_attributes(conn: &mut Connection, tree: &Tree, path: &str) -> Result<(), Error> {
    let mut buffer = vec![0u8; 40];
    buffer[32..36].copy_from_slice(&FILE_ATTRIBUTE_NORMAL.to_le_bytes());
    let set = SetInfoRequest {
        info_type: InfoType::File,
        file_info_class: FILE_BASIC_INFORMATION,
        additional_information: 0,
        file_id: FileId::SENTINEL,
        buffer,
    };
    open_and(conn, tree, path, FileAccessMask::FILE_WRITE_ATTRIBUTES, Command::SetInfo, &set).await.map(drop)
}

/// Deletes a file; a read-only one has its attribute cleared first, as `rm -rf` would.
pub(super) async fn delete_file(conn: &mut Connection, tree: &Tree, path: &str) -> Result<(), Error> {
    match tree.delete_file(conn, path).await {
        Err(Error::Protocol { status: NtStatus::CANNOT_DELETE, .. }) => {
            clear_attributes(conn, tree, path).await?;
            tree.delete_file(conn, path).await
        }
        other => other,
    }
}

/// Deletes `path` and everything below it, children first. Nothing there is not an error.
pub(super) async fn delete_tree(conn: &mut Connection, tree: &Tree, path: &str) -> Result<(), Error> {
    let is_dir = match tree.stat(conn, path).await {
        Ok(info) => info.is_directory,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !is_dir {
        return delete_file(conn, tree, path).await;
    }
    // Depth-first: list every folder, then delete files and folders deepest first.
    let mut folders = vec![path.to_string()];
    let mut files = Vec::new();
    let mut index = 0;
    while index < folders.len() {
        let folder = folders[index].clone();
        for child in wire::list_folder(conn, tree, &folder).await? {
            let child_path = format!("{folder}/{}", child.name);
            if child.is_dir {
                folders.push(child_path);
            } else {
                files.push(child_path);
            }
        }
        index += 1;
    }
    for file in &files {
        delete_file(conn, tree, file).await?;
    }
    for folder in folders.iter().rev() {
        tree.delete_directory(conn, folder).await?;
    }
    Ok(())
}
