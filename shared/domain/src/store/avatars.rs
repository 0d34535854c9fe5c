//! Profile pictures, one item per user beside the user (`USER#<userId>` / `AVATAR`), the
//! bytes as a binary attribute. Written in the same transaction as the user's `image`
//! that names it; removed with the user.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::db::{Db, StoreError};
use super::item::to_item;
use super::item::{Item, s};
use super::keys;
use crate::avatar::Avatar;

/// A stored picture: its type and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAvatar {
    pub mime: String,
    pub bytes: Vec<u8>,
    pub version: String,
}

impl Db {
    /// The write that stores `avatar` as `user_id`'s picture.
    pub(crate) fn avatar_put(
        &self,
        user_id: &str,
        avatar: &Avatar,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = to_item(&keys::plain_item(keys::avatar(user_id)))?;
        item.insert("mime".into(), s(avatar.mime));
        item.insert("version".into(), s(avatar.version()));
        item.insert(
            "bytes".into(),
            AttributeValue::B(Blob::new(avatar.bytes.clone())),
        );
        self.put(item, None)
    }

    /// The write that removes `user_id`'s picture (none there: nothing happens).
    pub(crate) fn avatar_delete(&self, user_id: &str) -> Result<TransactWriteItem, StoreError> {
        self.delete(keys::avatar(user_id), None)
    }

    /// `user_id`'s picture, if they have one.
    pub async fn avatar(&self, user_id: &str) -> Result<Option<StoredAvatar>, StoreError> {
        let Some(item) = self.get_item(keys::avatar(user_id)).await? else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let bytes = item
            .get("bytes")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec());
        match (text("mime"), text("version"), bytes) {
            (Some(mime), Some(version), Some(bytes)) => Ok(Some(StoredAvatar {
                mime,
                bytes,
                version,
            })),
            _ => Err(StoreError::Malformed(
                "an avatar item lacks its parts".into(),
            )),
        }
    }
}
