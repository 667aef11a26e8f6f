//! `alpaka test`'s view of the cluster ([`selftest::Cluster`]): server-side apply and delete of
//! the run's objects, their readiness (the same rules `apply` waits on), Job pod logs, and HTTP
//! to in-cluster Services through the API server's service proxy — so the checks need no port
//! forwards, ingress or DNS on the machine running alpaka.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams};
use kube::client::Body;
use serde_json::Value as Json;

use super::access::{Access, K8sError, connect};
use super::manifest::{FIELD_MANAGER, job_failed, pending};
use super::resources;
use crate::selftest::{self, HttpReply, Method, ObjectRef, ObjectState, ProbeError};

pub struct KubeProbe {
    client: kube::Client,
    ns: String,
    context: String,
}

impl KubeProbe {
    pub async fn connect(access: &Access, ns: &str) -> Result<KubeProbe, K8sError> {
        Ok(KubeProbe {
            client: connect(access, false).await?,
            ns: ns.to_owned(),
            context: access.context.clone(),
        })
    }

    fn api(&self, o: &ObjectRef) -> Result<Api<DynamicObject>, ProbeError> {
        let (ar, _) = resources::lookup(&o.api_version, &o.kind).ok_or_else(|| {
            ProbeError(format!(
                "alpaka has no API resource for {} {}",
                o.api_version, o.kind
            ))
        })?;
        Ok(Api::namespaced_with(self.client.clone(), &self.ns, &ar))
    }

    fn err(&self, op: &str, what: &str, e: kube::Error) -> ProbeError {
        ProbeError(format!("{op} {what} (context `{}`): {e}", self.context))
    }
}

/// Why a pod is not running yet, from its container statuses (e.g. `ErrImagePull: …`).
fn waiting_reason(p: &Pod) -> Option<String> {
    let st = p.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref())
        .map(|w| {
            format!(
                "container waiting: {}{}",
                w.reason.as_deref().unwrap_or("?"),
                w.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )
        })
        .or_else(|| st.phase.as_ref().map(|ph| format!("pod {ph}")))
}

#[async_trait]
impl selftest::Cluster for KubeProbe {
    async fn apply(&self, manifest: &Json) -> Result<(), ProbeError> {
        let o = ObjectRef::of(manifest)
            .ok_or_else(|| ProbeError("a manifest without apiVersion, kind or name".into()))?;
        self.api(&o)?
            .patch(
                &o.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(manifest),
            )
            .await
            .map_err(|e| self.err("applying", &o.to_string(), e))?;
        Ok(())
    }

    async fn delete(&self, o: &ObjectRef) -> Result<(), ProbeError> {
        match self
            .api(o)?
            .delete(&o.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(self.err("deleting", &o.to_string(), e)),
        }
    }

    async fn state(&self, o: &ObjectRef) -> Result<ObjectState, ProbeError> {
        let Some(obj) = self
            .api(o)?
            .get_opt(&o.name)
            .await
            .map_err(|e| self.err("reading", &o.to_string(), e))?
        else {
            return Ok(ObjectState::Missing);
        };
        let obj = serde_json::to_value(obj).map_err(|e| ProbeError(e.to_string()))?;
        if o.kind == "Job"
            && let Some(why) = job_failed(&obj)
        {
            return Ok(ObjectState::Failed(why));
        }
        Ok(match pending(&o.kind, &obj) {
            None => ObjectState::Ready,
            Some(w) => ObjectState::Pending(w),
        })
    }

    async fn job_log(&self, job: &str, tail: i64) -> Result<String, ProbeError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.ns);
        let list = pods
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .map_err(|e| self.err("listing the pods of", job, e))?;
        let Some(pod) = list
            .items
            .iter()
            .max_by_key(|p| p.metadata.creation_timestamp.clone())
        else {
            return Ok(format!("(Job {job} has no pod yet)"));
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let params = LogParams {
            tail_lines: Some(tail),
            ..LogParams::default()
        };
        match pods.logs(&name, &params).await {
            Ok(text) if !text.trim().is_empty() => Ok(text),
            // No log yet: say why the pod is not running.
            Ok(_) | Err(_) => Ok(format!(
                "(pod {name} has no log: {})",
                waiting_reason(pod).unwrap_or_else(|| "no status".into())
            )),
        }
    }

    async fn http(
        &self,
        service: &str,
        port: u16,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<HttpReply, ProbeError> {
        let uri = format!(
            "/api/v1/namespaces/{}/services/{service}:{port}/proxy{path}",
            self.ns
        );
        let builder = http::Request::builder()
            .uri(&uri)
            .method(match method {
                Method::Get => http::Method::GET,
                Method::Post => http::Method::POST,
            })
            .header(http::header::ACCEPT, "application/json");
        let req = match body {
            Some(b) => builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string().into_bytes())),
            None => builder.body(Body::empty()),
        }
        .map_err(|e| ProbeError(format!("building the request to {uri}: {e}")))?;
        let what = format!("{service}:{port}{path}");
        let res = self
            .client
            .send(req)
            .await
            .map_err(|e| self.err("calling", &what, e))?;
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| self.err("reading the reply of", &what, e))?;
        Ok(HttpReply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}
