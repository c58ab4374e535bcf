//! Vendor API handlers (marketplace vendors, not partners): provisioning (audience
//! `api://provisioning`) and usage reporting (audience `api://usage`). The client fetches a token
//! per audience from the same credentials.

use pax8_api::vendor_provisioning::types::{
    ProvisionAttempt, ProvisionDetail, ProvisionRequest, ProvisionResult, Provisioner, Webhook,
};
use pax8_api::vendor_usage::types::UsageLine;
use uuid::Uuid;

use crate::Pax8Client;
use crate::error::{Error, Result};

impl Pax8Client {
    /// Vendor provisioning: provisioners, provision requests, attempts, details, results.
    pub fn provisioning(&self) -> Provisioning<'_> {
        Provisioning { client: self }
    }
    /// Vendor usage reporting.
    pub fn usage_reporting(&self) -> UsageReporting<'_> {
        UsageReporting { client: self }
    }
}

/// Vendor provisioning handler.
#[derive(Debug, Clone, Copy)]
pub struct Provisioning<'c> {
    client: &'c Pax8Client,
}

impl<'c> Provisioning<'c> {
    /// The vendor's provisioners.
    pub async fn provisioners(&self) -> Result<Vec<Provisioner>> {
        Ok(crate::send(self.client.vendor_provisioning().get_all_provisioners().send()).await?.content)
    }
    /// One provisioner.
    pub async fn provisioner(&self, id: Uuid) -> Result<Provisioner> {
        crate::send(self.client.vendor_provisioning().get_one_provisioner().provisioner_id(id).send()).await
    }
    /// The webhooks of a provisioner.
    pub async fn webhooks(&self, provisioner: Uuid) -> Result<Vec<Webhook>> {
        Ok(crate::send(
            self.client.vendor_provisioning().get_all_webhooks_for_provisioner().provisioner_id(provisioner).send(),
        )
        .await?
        .content)
    }
    /// Every provision request.
    pub async fn requests(&self) -> Result<Vec<ProvisionRequest>> {
        Ok(crate::send(self.client.vendor_provisioning().get_all_provision_requests().send()).await?.content)
    }
    /// Provision requests not fulfilled yet.
    pub async fn unfulfilled_requests(&self) -> Result<Vec<ProvisionRequest>> {
        Ok(crate::send(self.client.vendor_provisioning().get_all_unfulfilled_provision_requests().send())
            .await?
            .content)
    }
    /// One provision request.
    pub async fn request(&self, id: Uuid) -> Result<ProvisionRequest> {
        crate::send(self.client.vendor_provisioning().get_one_provision_request().provision_request_id(id).send()).await
    }
    /// The details of a provision request.
    pub async fn details(&self, request: Uuid) -> Result<Vec<ProvisionDetail>> {
        Ok(crate::send(
            self.client.vendor_provisioning().get_all_provision_details().provision_request_id(request).send(),
        )
        .await?
        .content)
    }
    /// The attempts of a provision request.
    pub async fn attempts(&self, request: Uuid) -> Result<Vec<ProvisionAttempt>> {
        Ok(crate::send(
            self.client.vendor_provisioning().get_all_provision_attempts().provision_request_id(request).send(),
        )
        .await?
        .content)
    }
    /// Starts an attempt on a provision request.
    pub async fn start_attempt(&self, request: Uuid) -> Result<ProvisionAttempt> {
        crate::send(self.client.vendor_provisioning().create_attempt_for_request().provision_request_id(request).send())
            .await
    }
    /// The results of a provision request.
    pub async fn results(&self, request: Uuid) -> Result<Vec<ProvisionResult>> {
        Ok(crate::send(
            self.client.vendor_provisioning().get_all_provision_results().provision_request_id(request).send(),
        )
        .await?
        .content)
    }
    /// Reports the result of provisioning (not retried once it may have reached the server).
    pub async fn report_result(&self, request: Uuid, result: ProvisionResult) -> Result<ProvisionResult> {
        crate::send(
            self.client
                .vendor_provisioning()
                .create_provision_result()
                .provision_request_id(request)
                .body(result)
                .send(),
        )
        .await
    }
}

/// Vendor usage reporting handler.
#[derive(Debug, Clone, Copy)]
pub struct UsageReporting<'c> {
    client: &'c Pax8Client,
}

impl<'c> UsageReporting<'c> {
    /// Reported usage lines of a subscription for a billing period (`YYYY-MM`).
    pub async fn lines(&self, subscription: Uuid, billing_period: &str) -> Result<Vec<UsageLine>> {
        Ok(crate::send(
            self.client
                .vendor_usage()
                .get_usage_lines()
                .subscription_id(subscription)
                .billing_period(billing_period)
                .send(),
        )
        .await?
        .content)
    }
    /// Reports usage lines (not retried once it may have reached the server).
    pub async fn report(
        &self,
        subscription: Uuid,
        billing_period: &str,
        lines: Vec<UsageLine>,
        overwrite_same_day: bool,
    ) -> Result<Vec<UsageLine>> {
        if lines.is_empty() {
            return Err(Error::InvalidRequest("no usage line to report".into()));
        }
        Ok(crate::send(
            self.client
                .vendor_usage()
                .save_usage_lines()
                .subscription_id(subscription)
                .billing_period(billing_period)
                .overwrite_same_day_usage(overwrite_same_day)
                .body(lines)
                .send(),
        )
        .await?
        .content)
    }
}
