//! Vendor API handlers (marketplace vendors, not partners): provisioning (audience
//! `api://provisioning`) and usage reporting (audience `api://usage`). The client fetches a token
//! per audience from the same credentials.

use pax8_api::vendor_provisioning::types::{
    ProvisionAttempt, ProvisionDetail, ProvisionRequest, ProvisionResult, Provisioner, Webhook,
};
use pax8_api::vendor_usage::types::UsageLine;
use uuid::Uuid;

use super::handler_options;
use crate::error::{Error, Result};
use crate::{CallOptions, Pax8Client};

handler_options!(Provisioning, UsageReporting);

impl Pax8Client {
    /// Vendor provisioning: provisioners, provision requests, attempts, details, results.
    pub fn provisioning(&self) -> Provisioning<'_> {
        Provisioning { client: self, options: CallOptions::default() }
    }
    /// Vendor usage reporting.
    pub fn usage_reporting(&self) -> UsageReporting<'_> {
        UsageReporting { client: self, options: CallOptions::default() }
    }
}

/// Vendor provisioning handler.
#[derive(Debug, Clone)]
pub struct Provisioning<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Provisioning<'c> {
    /// The vendor's provisioners.
    pub async fn provisioners(&self) -> Result<Vec<Provisioner>> {
        Ok(self.send(self.client.vendor_provisioning().get_all_provisioners()).await?.content)
    }
    /// One provisioner.
    pub async fn provisioner(&self, id: Uuid) -> Result<Provisioner> {
        self.send(self.client.vendor_provisioning().get_one_provisioner().provisioner_id(id)).await
    }
    /// The webhooks of a provisioner.
    pub async fn webhooks(&self, provisioner: Uuid) -> Result<Vec<Webhook>> {
        Ok(self
            .send(self.client.vendor_provisioning().get_all_webhooks_for_provisioner().provisioner_id(provisioner))
            .await?
            .content)
    }
    /// Every provision request.
    pub async fn requests(&self) -> Result<Vec<ProvisionRequest>> {
        Ok(self.send(self.client.vendor_provisioning().get_all_provision_requests()).await?.content)
    }
    /// Provision requests not fulfilled yet.
    pub async fn unfulfilled_requests(&self) -> Result<Vec<ProvisionRequest>> {
        Ok(self.send(self.client.vendor_provisioning().get_all_unfulfilled_provision_requests()).await?.content)
    }
    /// One provision request.
    pub async fn request(&self, id: Uuid) -> Result<ProvisionRequest> {
        self.send(self.client.vendor_provisioning().get_one_provision_request().provision_request_id(id)).await
    }
    /// The details of a provision request.
    pub async fn details(&self, request: Uuid) -> Result<Vec<ProvisionDetail>> {
        Ok(self
            .send(self.client.vendor_provisioning().get_all_provision_details().provision_request_id(request))
            .await?
            .content)
    }
    /// The attempts of a provision request.
    pub async fn attempts(&self, request: Uuid) -> Result<Vec<ProvisionAttempt>> {
        Ok(self
            .send(self.client.vendor_provisioning().get_all_provision_attempts().provision_request_id(request))
            .await?
            .content)
    }
    /// Starts an attempt on a provision request.
    pub async fn start_attempt(&self, request: Uuid) -> Result<ProvisionAttempt> {
        self.send(self.client.vendor_provisioning().create_attempt_for_request().provision_request_id(request)).await
    }
    /// The results of a provision request.
    pub async fn results(&self, request: Uuid) -> Result<Vec<ProvisionResult>> {
        Ok(self
            .send(self.client.vendor_provisioning().get_all_provision_results().provision_request_id(request))
            .await?
            .content)
    }
    /// Reports the result of provisioning (not retried once it may have reached the server).
    pub async fn report_result(&self, request: Uuid, result: ProvisionResult) -> Result<ProvisionResult> {
        self.send(
            self.client.vendor_provisioning().create_provision_result().provision_request_id(request).body(result),
        )
        .await
    }
}

/// Vendor usage reporting handler.
#[derive(Debug, Clone)]
pub struct UsageReporting<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> UsageReporting<'c> {
    /// Reported usage lines of a subscription for a billing period (`YYYY-MM`).
    pub async fn lines(&self, subscription: Uuid, billing_period: &str) -> Result<Vec<UsageLine>> {
        Ok(self
            .send(
                self.client
                    .vendor_usage()
                    .get_usage_lines()
                    .subscription_id(subscription)
                    .billing_period(billing_period),
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
        Ok(self
            .send(
                self.client
                    .vendor_usage()
                    .save_usage_lines()
                    .subscription_id(subscription)
                    .billing_period(billing_period)
                    .overwrite_same_day_usage(overwrite_same_day)
                    .body(lines),
            )
            .await?
            .content)
    }
}
