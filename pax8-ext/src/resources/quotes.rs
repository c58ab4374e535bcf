//! Quoting API v2 handlers: quotes, line items, sections, access list, attachments, preferences.

use bytes::Bytes;
use pax8_api::quoting::builder;
use pax8_api::quoting::types::{
    AccessListEntry, AccessListResponse, AddAccessListEntryPayload, AddLineItemsBodyItem, AttachmentResponse,
    CreateQuotePayload, CreateSectionPayload, DeleteLineItemsPayload, LineItemResponse, ListContent,
    PreferencesPayload, PreferencesResponse, QuotePreferencesResult, QuoteResponse, SectionsPayload, SectionsResponse,
    UpdateAttachmentPayload, UpdateLineItemsBodyItem, UpdateQuotePayload,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use uuid::Uuid;

use super::{handler_options, paginator};
use crate::Pax8Client;
use crate::call::CallOptions;
use crate::error::{Error, Result};
use crate::pagination::Paginator;

/// Largest `limit` the quote list is asked for (from the patched document).
pub const QUOTES_MAX_PAGE_SIZE: u32 = <builder::GetQuotesList<'static> as pax8_api::Paged>::PAGING.max_size;

handler_options!(Quotes);

impl Pax8Client {
    /// Quotes (quoting API v2).
    pub fn quotes(&self) -> Quotes<'_> {
        Quotes { client: self, options: CallOptions::default() }
    }
}

/// A file to upload as a quote attachment.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name shown to the customer.
    pub file_name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The file.
    pub bytes: Bytes,
}

/// Builds a multipart/form-data body with one `attachments` part per file.
fn multipart(files: &[Attachment]) -> Result<(String, Vec<u8>)> {
    if files.is_empty() {
        return Err(Error::InvalidRequest("no attachment to upload".into()));
    }
    let boundary = format!("pax8-rs-{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for f in files {
        if f.file_name.is_empty() || f.file_name.contains(['"', '\r', '\n']) {
            return Err(Error::InvalidRequest(format!("attachment file name `{}` is not usable", f.file_name)));
        }
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"attachments\"; filename=\"{}\"\r\n", f.file_name)
                .as_bytes(),
        );
        body.extend_from_slice(format!("Content-Type: {}\r\n\r\n", f.content_type).as_bytes());
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

fn multipart_options(options: &CallOptions, content_type: &str) -> Result<CallOptions> {
    let value = HeaderValue::from_str(content_type).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    Ok(options.clone().header(CONTENT_TYPE, value))
}

/// Quotes handler.
#[derive(Debug, Clone)]
pub struct Quotes<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Quotes<'c> {
    /// Every quote.
    pub fn list(&self) -> Paginator<ListContent> {
        paginator!(self, |c| c.quoting().get_quotes_list())
    }
    /// Quotes matching the filters (`search`, `status`, `account`, `sort`, `intent_type`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<ListContent>
    where
        F: for<'a> Fn(builder::GetQuotesList<'a>) -> builder::GetQuotesList<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.quoting().get_quotes_list(), filter = filter)
    }
    /// One quote.
    pub async fn get(&self, id: Uuid) -> Result<QuoteResponse> {
        self.send(self.client.quoting().get_quote_by_id().quote_id(id)).await
    }
    /// Creates a quote.
    pub async fn create(&self, quote: CreateQuotePayload) -> Result<QuoteResponse> {
        self.send(self.client.quoting().create_quote().body(quote)).await
    }
    /// Updates a quote.
    pub async fn update(&self, id: Uuid, quote: UpdateQuotePayload) -> Result<QuoteResponse> {
        self.send(self.client.quoting().update_quote().quote_id(id).body(quote)).await
    }
    /// Deletes a quote.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.send(self.client.quoting().delete_quote_by_id().quote_id(id)).await
    }
    /// Takes ownership of a quote.
    pub async fn take_ownership(&self, id: Uuid) -> Result<QuoteResponse> {
        self.send(self.client.quoting().take_quote_ownership().quote_id(id)).await
    }
    /// Adds line items.
    pub async fn add_line_items(&self, id: Uuid, items: Vec<AddLineItemsBodyItem>) -> Result<Vec<LineItemResponse>> {
        if items.is_empty() {
            return Err(Error::InvalidRequest("no line item to add".into()));
        }
        self.send(self.client.quoting().add_line_items().quote_id(id).body(items)).await
    }
    /// Updates line items.
    pub async fn update_line_items(
        &self,
        id: Uuid,
        items: Vec<UpdateLineItemsBodyItem>,
    ) -> Result<Vec<LineItemResponse>> {
        self.send(self.client.quoting().update_line_items().quote_id(id).body(items)).await
    }
    /// Deletes one line item.
    pub async fn delete_line_item(&self, id: Uuid, line_item_id: Uuid) -> Result<()> {
        self.send(self.client.quoting().delete_line_item_by_id().quote_id(id).line_item_id(line_item_id)).await
    }
    /// Deletes several line items.
    pub async fn delete_line_items(&self, id: Uuid, line_item_ids: Vec<Uuid>) -> Result<()> {
        let body = DeleteLineItemsPayload { line_item_ids, ..Default::default() };
        self.send(self.client.quoting().bulk_delete_line_items().quote_id(id).body(body)).await
    }
    /// The quote's sections.
    pub async fn sections(&self, id: Uuid) -> Result<SectionsResponse> {
        self.send(self.client.quoting().get_sections().quote_id(id)).await
    }
    /// Adds a section.
    pub async fn create_section(&self, id: Uuid, section: CreateSectionPayload) -> Result<SectionsResponse> {
        self.send(self.client.quoting().create_section().quote_id(id).body(section)).await
    }
    /// Replaces the sections.
    pub async fn update_sections(&self, id: Uuid, sections: SectionsPayload) -> Result<SectionsResponse> {
        self.send(self.client.quoting().update_sections().quote_id(id).body(sections)).await
    }
    /// Who the quote is shared with.
    pub async fn access_list(&self, id: Uuid) -> Result<AccessListResponse> {
        self.send(self.client.quoting().get_quote_access_list().quote_id(id)).await
    }
    /// Shares the quote.
    pub async fn share(&self, id: Uuid, entries: Vec<AddAccessListEntryPayload>) -> Result<Vec<AccessListEntry>> {
        self.send(self.client.quoting().add_quote_access_list_entry().quote_id(id).body(entries)).await
    }
    /// Stops sharing with one entry.
    pub async fn unshare(&self, id: Uuid, entry_id: Uuid) -> Result<()> {
        self.send(self.client.quoting().delete_quote_share_entry().quote_id(id).access_list_entry_id(entry_id)).await
    }
    /// Uploads files as attachments of the quote (multipart/form-data).
    pub async fn upload_attachments(&self, id: Uuid, files: &[Attachment]) -> Result<Vec<AttachmentResponse>> {
        let (content_type, body) = multipart(files)?;
        let options = multipart_options(&self.options, &content_type)?;
        self.client
            .send_with(self.client.quoting().upload_attachment_to_quote().quote_id(id).body(body), &options)
            .await
    }
    /// Attachment metadata.
    pub async fn attachment(&self, id: Uuid, attachment_id: Uuid) -> Result<AttachmentResponse> {
        self.send(self.client.quoting().get_attachment_metadata().quote_id(id).attachment_id(attachment_id)).await
    }
    /// Downloads one attachment (the PDF).
    pub async fn download_attachment(&self, id: Uuid, attachment_id: Uuid) -> Result<Bytes> {
        let options = self.options.clone().header(ACCEPT, HeaderValue::from_static("application/pdf"));
        let request = self.client.quoting().get_attachment_metadata().quote_id(id).attachment_id(attachment_id);
        self.client.send_file(request.download(true), &options).await
    }
    /// Downloads every attachment as one ZIP.
    pub async fn download_all_attachments(&self, id: Uuid) -> Result<Bytes> {
        let request = self.client.quoting().download_all_attachments_as_zip().quote_id(id).download_zip(true);
        self.client.send_file(request, &self.options).await
    }
    /// Renames or reorders attachments.
    pub async fn update_attachments(
        &self,
        id: Uuid,
        updates: Vec<UpdateAttachmentPayload>,
    ) -> Result<Vec<AttachmentResponse>> {
        self.send(self.client.quoting().update_attachments_metadata().quote_id(id).body(updates)).await
    }
    /// Removes an attachment.
    pub async fn delete_attachment(&self, id: Uuid, attachment_id: Uuid) -> Result<()> {
        self.send(self.client.quoting().delete_attachment().quote_id(id).attachment_id(attachment_id)).await
    }
    /// Uploads files to the partner's attachment library.
    pub async fn upload_library_attachments(&self, files: &[Attachment]) -> Result<Vec<AttachmentResponse>> {
        let (content_type, body) = multipart(files)?;
        let options = multipart_options(&self.options, &content_type)?;
        self.client.send_with(self.client.quoting().upload_attachment_to_library().body(body), &options).await
    }
    /// The quoting preferences.
    pub async fn preferences(&self) -> Result<PreferencesResponse> {
        self.send(self.client.quoting().get_quote_preferences()).await
    }
    /// Saves the quoting preferences.
    pub async fn save_preferences(&self, preferences: PreferencesPayload) -> Result<QuotePreferencesResult> {
        self.send(self.client.quoting().persist_quote_preferences().body(preferences)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_has_one_part_per_file() {
        let files = [
            Attachment {
                file_name: "a.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: Bytes::from_static(b"%PDF-1"),
            },
            Attachment {
                file_name: "b.txt".into(),
                content_type: "text/plain".into(),
                bytes: Bytes::from_static(b"hi"),
            },
        ];
        let (content_type, body) = multipart(&files).unwrap();
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1\r\n"));
        assert!(multipart(&[]).is_err());
        let bad = Attachment { file_name: "x\"y".into(), content_type: "text/plain".into(), bytes: Bytes::new() };
        assert!(matches!(multipart(&[bad]), Err(Error::InvalidRequest(_))));
    }
}
