//! Profile pictures sent as data URLs (Portal's avatar card: `data:image/png|jpeg|webp;
//! base64,...`): decoded and checked before anything is stored. The bytes are kept in an
//! item of their own and the user's `image` becomes the URL that serves them, so sessions
//! stay small and the picture works wherever a URL is needed (the chat bridge's avatars).

use data_encoding::BASE64;
use sha2::{Digest, Sha256};

/// The most bytes a picture may have once decoded (well inside DynamoDB's 400 KB item).
pub const MAX_AVATAR_BYTES: usize = 256 * 1024;
/// The most pixels on either side.
pub const MAX_AVATAR_SIDE: usize = 2048;
/// The longest data URL read at all (its base64 for `MAX_AVATAR_BYTES`, and the prefix).
pub const MAX_DATA_URL_CHARS: usize = MAX_AVATAR_BYTES / 3 * 4 + 64;

/// A checked picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub mime: &'static str,
    pub bytes: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

/// Why a data URL is not a picture we keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarProblem {
    /// Not `data:image/png|jpeg|webp;base64,...`.
    NotAnImageDataUrl,
    /// More than [`MAX_AVATAR_BYTES`] once decoded.
    TooLarge,
    /// More than [`MAX_AVATAR_SIDE`] pixels on a side.
    TooManyPixels,
    /// The base64 or the picture inside does not hold together, or is not what its type
    /// says.
    Corrupt,
}

impl AvatarProblem {
    pub fn message(self) -> &'static str {
        match self {
            AvatarProblem::NotAnImageDataUrl => {
                "Only PNG, JPEG or WebP pictures as data:image/...;base64 URLs"
            }
            AvatarProblem::TooLarge => "The picture is larger than 256 KB",
            AvatarProblem::TooManyPixels => "The picture is larger than 2048 pixels on a side",
            AvatarProblem::Corrupt => "The picture could not be read",
        }
    }
}

/// Whether `raw` is meant as a data URL (so it is judged as one, never stored as text).
pub fn is_data_url(raw: &str) -> bool {
    raw.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

/// Decodes and checks a picture sent as a data URL.
pub fn parse_data_url(raw: &str) -> Result<Avatar, AvatarProblem> {
    if raw.len() > MAX_DATA_URL_CHARS {
        return Err(AvatarProblem::TooLarge);
    }
    let (head, data) = raw
        .split_once(',')
        .ok_or(AvatarProblem::NotAnImageDataUrl)?;
    let mime = match head.to_ascii_lowercase().as_str() {
        "data:image/png;base64" => "image/png",
        "data:image/jpeg;base64" | "data:image/jpg;base64" => "image/jpeg",
        "data:image/webp;base64" => "image/webp",
        _ => return Err(AvatarProblem::NotAnImageDataUrl),
    };
    let bytes = BASE64
        .decode(data.trim().as_bytes())
        .map_err(|_| AvatarProblem::Corrupt)?;
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(AvatarProblem::TooLarge);
    }
    let kind = imagesize::image_type(&bytes).map_err(|_| AvatarProblem::Corrupt)?;
    let matches_type = matches!(
        (kind, mime),
        (imagesize::ImageType::Png, "image/png")
            | (imagesize::ImageType::Jpeg, "image/jpeg")
            | (imagesize::ImageType::Webp, "image/webp")
    );
    if !matches_type || !is_whole(mime, &bytes) {
        return Err(AvatarProblem::Corrupt);
    }
    let size = imagesize::blob_size(&bytes).map_err(|_| AvatarProblem::Corrupt)?;
    if size.width == 0 || size.height == 0 {
        return Err(AvatarProblem::Corrupt);
    }
    if size.width > MAX_AVATAR_SIDE || size.height > MAX_AVATAR_SIDE {
        return Err(AvatarProblem::TooManyPixels);
    }
    Ok(Avatar {
        mime,
        bytes,
        width: size.width,
        height: size.height,
    })
}

/// Whether the file is whole: a PNG ends with its `IEND` chunk, a JPEG with its end
/// marker, a WebP's RIFF header counts exactly the bytes that follow it.
fn is_whole(mime: &str, bytes: &[u8]) -> bool {
    match mime {
        "image/png" => {
            bytes.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82])
        }
        "image/jpeg" => {
            let trimmed = bytes
                .iter()
                .rposition(|b| *b != 0)
                .map_or(&bytes[..0], |end| &bytes[..=end]);
            trimmed.ends_with(&[0xFF, 0xD9])
        }
        "image/webp" => {
            bytes.len() >= 12
                && u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize + 8
                    == bytes.len()
        }
        _ => false,
    }
}

impl Avatar {
    /// A short name of these bytes: a new picture is a new URL (caches never show the old
    /// one).
    pub fn version(&self) -> String {
        data_encoding::HEXLOWER.encode(&Sha256::digest(&self.bytes)[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PNG: 1×1, one grey pixel.
    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

    #[test]
    fn a_small_png_is_read_with_its_size() {
        let avatar = parse_data_url(&format!("data:image/png;base64,{PNG_1X1}")).unwrap();
        assert_eq!(
            (avatar.mime, avatar.width, avatar.height),
            ("image/png", 1, 1)
        );
        assert_eq!(avatar.version().len(), 16);
    }

    #[test]
    fn what_is_not_a_whole_picture_of_its_type_is_refused() {
        let png = BASE64.decode(PNG_1X1.as_bytes()).unwrap();
        let cut = BASE64.encode(&png[..png.len() - 4]);
        for (url, problem) in [
            (
                format!("data:image/gif;base64,{PNG_1X1}"),
                AvatarProblem::NotAnImageDataUrl,
            ),
            (
                format!("data:image/png,{PNG_1X1}"),
                AvatarProblem::NotAnImageDataUrl,
            ),
            (
                "data:image/png;base64,%%%".to_string(),
                AvatarProblem::Corrupt,
            ),
            (
                format!("data:image/jpeg;base64,{PNG_1X1}"),
                AvatarProblem::Corrupt,
            ),
            (
                format!("data:image/png;base64,{cut}"),
                AvatarProblem::Corrupt,
            ),
            (
                format!("data:image/png;base64,{}", "A".repeat(MAX_DATA_URL_CHARS)),
                AvatarProblem::TooLarge,
            ),
        ] {
            assert_eq!(
                parse_data_url(&url),
                Err(problem),
                "{}",
                &url[..30.min(url.len())]
            );
        }
    }

    #[test]
    fn a_picture_too_wide_is_refused_from_its_header() {
        let mut png = BASE64.decode(PNG_1X1.as_bytes()).unwrap();
        // IHDR width (bytes 16..20): 4096 pixels.
        png[16..20].copy_from_slice(&4096u32.to_be_bytes());
        let url = format!("data:image/png;base64,{}", BASE64.encode(&png));
        assert_eq!(parse_data_url(&url), Err(AvatarProblem::TooManyPixels));
    }
}
