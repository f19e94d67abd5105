//! A small W3C WebDriver client (the few commands a person's actions need), for driving the
//! desktop wallet's real window through `tauri-driver` and WebKitWebDriver. Enough of the
//! protocol to find elements by CSS, click, type, read text and attributes, and take
//! screenshots; nothing else.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// What went wrong talking to the driver or the page, in words (with the page's text when an
/// element did not appear).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DriverError(pub String);

impl From<DriverError> for String {
    fn from(e: DriverError) -> Self {
        e.0
    }
}

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session: one running app.
pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

/// An element of the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    /// Starts the app at `application` (with `args`) through tauri-driver at `driver`.
    pub async fn start(
        driver: &str,
        application: &str,
        args: &[&str],
    ) -> Result<Self, DriverError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| DriverError(e.to_string()))?;
        // No browserName: WebKitWebDriver refuses a name other than its own.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": application, "args": args}
        }}});
        let v: Value = http
            .post(format!("{driver}/session"))
            .json(&caps)
            .send()
            .await
            .map_err(|e| DriverError(format!("tauri-driver: {e}")))?
            .json()
            .await
            .map_err(|e| DriverError(e.to_string()))?;
        let id = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| DriverError(format!("no session: {v}")))?
            .to_owned();
        Ok(Self {
            http,
            base: driver.trim_end_matches('/').to_owned(),
            id,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, DriverError> {
        let url = format!("{}/session/{}{path}", self.base, self.id);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .map_err(|e| DriverError(format!("{path}: {e}")))?
            .json()
            .await
            .map_err(|e| DriverError(format!("{path}: {e}")))?;
        if let Some(err) = v["value"]["error"].as_str() {
            return Err(DriverError(format!(
                "{path}: {err}: {}",
                v["value"]["message"]
            )));
        }
        Ok(v["value"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, DriverError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, DriverError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// The first element matching `css`, if any now.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await
            .ok()?;
        v[ELEMENT].as_str().map(|s| Element(s.to_owned()))
    }

    /// Every element matching `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e[ELEMENT].as_str().map(|s| Element(s.to_owned())))
            .collect()
    }

    /// Waits (up to `timeout`) for an element matching `css` to be shown.
    pub async fn wait(&self, css: &str, timeout: Duration) -> Result<Element, DriverError> {
        let start = Instant::now();
        loop {
            if let Some(e) = self.find(css).await
                && self.displayed(&e).await
            {
                return Ok(e);
            }
            if start.elapsed() > timeout {
                let body = self.text_of("body").await.unwrap_or_default();
                return Err(DriverError(format!(
                    "{css} did not appear in {timeout:?}; the page says: {body}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) -> Result<(), DriverError> {
        let e = self.wait(css, Duration::from_secs(20)).await?;
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await?;
        Ok(())
    }

    /// Waits for `css`, clears it, and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), DriverError> {
        let e = self.wait(css, Duration::from_secs(20)).await?;
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await?;
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await?;
        Ok(())
    }

    /// Sets a file input's file (as a person choosing it in the file dialog).
    pub async fn choose_file(&self, css: &str, path: &str) -> Result<(), DriverError> {
        let e = self
            .find(css)
            .await
            .ok_or_else(|| DriverError(format!("no {css}")))?;
        self.post(&format!("/element/{}/value", e.0), json!({"text": path}))
            .await?;
        Ok(())
    }

    pub async fn displayed(&self, e: &Element) -> bool {
        self.get(&format!("/element/{}/displayed", e.0))
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub async fn text(&self, e: &Element) -> Result<String, DriverError> {
        Ok(self
            .get(&format!("/element/{}/text", e.0))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> Result<String, DriverError> {
        let e = self
            .find(css)
            .await
            .ok_or_else(|| DriverError(format!("no {css}")))?;
        self.text(&e).await
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Result<Option<String>, DriverError> {
        Ok(self
            .get(&format!("/element/{}/attribute/{name}", e.0))
            .await?
            .as_str()
            .map(str::to_owned))
    }

    /// Runs `script` in the page; its return value.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, DriverError> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs `script` in the page and waits for it to call its last argument; that value.
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value, DriverError> {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// The window's content as a PNG.
    pub async fn screenshot(&self) -> Result<Vec<u8>, DriverError> {
        let b64 = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .map_err(|e| DriverError(e.to_string()))
    }

    /// Scrolls so that `e` is in the middle of the window (as a person would before a camera).
    pub async fn scroll_into_view(&self, e: &Element) -> Result<(), DriverError> {
        self.execute(
            "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
            json!([{ ELEMENT: e.0 }]),
        )
        .await
        .map(|_| ())
    }

    /// One element's pixels as a PNG.
    pub async fn element_screenshot(&self, e: &Element) -> Result<Vec<u8>, DriverError> {
        let b64 = self.get(&format!("/element/{}/screenshot", e.0)).await?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .map_err(|e| DriverError(e.to_string()))
    }

    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), DriverError> {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await
            .map(|_| ())
    }

    /// Ends the session (the app quits).
    pub async fn quit(self) {
        if let Err(e) = self.call(reqwest::Method::DELETE, "", None).await {
            eprintln!("webdriver: ending the session: {e}");
        }
    }
}
