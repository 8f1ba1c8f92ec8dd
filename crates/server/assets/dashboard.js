// Pacer's dashboard: keeps the API token for this tab, sends the actions
// with it, and refreshes the page's live part without reloading.
(function () {
  "use strict";
  var REFRESH_MS = 5000;
  var status = document.getElementById("status");

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.className = bad ? "bad" : "";
  }

  function remember(token) {
    sessionStorage.setItem("pacer-token", token);
    // Reads take the cookie; actions always send the header.
    document.cookie = "pacer_token=" + encodeURIComponent(token) + "; path=/; SameSite=Strict";
  }

  // A sign-in link carries the token after '#', which never reaches a server log.
  var match = location.hash.match(/token=([^&]+)/);
  if (match) {
    remember(decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  var signIn = document.getElementById("sign-in");
  if (signIn) {
    signIn.addEventListener("submit", function (event) {
      event.preventDefault();
      remember(signIn.elements.token.value);
      location.reload();
    });
    if (match) location.reload();
    return;
  }

  function token() {
    var known = sessionStorage.getItem("pacer-token");
    if (known) return known;
    var asked = window.prompt("API token (PACER_API_TOKEN) for actions:");
    if (asked) remember(asked);
    return asked;
  }

  var live = document.getElementById("live");
  var refreshing = false;
  function refresh() {
    if (!live || refreshing || document.hidden) return Promise.resolve();
    refreshing = true;
    return fetch(location.pathname + location.search, {
      headers: { "X-Pacer-Live": "1" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.dataset.refreshed = String(Date.now());
        say("updated " + new Date().toLocaleTimeString());
      })
      .catch(function (e) {
        say("not updated: " + e.message, true);
      })
      .then(function () {
        refreshing = false;
      });
  }
  setInterval(refresh, REFRESH_MS);

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button[data-action]");
    if (!target) return;
    if (target.dataset.confirm && !window.confirm(target.dataset.confirm)) return;
    var bearer = token();
    if (!bearer) return;
    target.disabled = true;
    fetch(target.dataset.action, {
      method: "POST",
      headers: { Authorization: "Bearer " + bearer },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.status === 401) sessionStorage.removeItem("pacer-token");
          if (!response.ok) throw new Error(body.error ? body.error.message : response.status);
          say(target.textContent + ": done");
        });
      })
      .catch(function (e) {
        say(target.textContent + ": " + e.message, true);
      })
      .then(function () {
        target.disabled = false;
        return refresh();
      });
  });
})();
