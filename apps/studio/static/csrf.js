// Every call the studio's page makes to its own server carries the session's CSRF token (the
// server refuses a state-changing request with a session cookie and without it).
(() => {
  const token = () => (document.cookie.match(/(?:^|; )(?:__Host-)?lifeos_csrf=([^;]*)/) || [])[1];
  const unsafe = (m) => !["GET", "HEAD", "OPTIONS"].includes((m || "GET").toUpperCase());
  const fetch0 = window.fetch;
  window.fetch = (input, init = {}) => {
    const method = init.method || (input instanceof Request ? input.method : "GET");
    const url = new URL(input instanceof Request ? input.url : input, location.href);
    if (unsafe(method) && url.origin === location.origin && token()) {
      const headers = new Headers(init.headers || (input instanceof Request ? input.headers : {}));
      headers.set("X-CSRF-Token", decodeURIComponent(token()));
      init = { ...init, headers };
    }
    return fetch0(input, init);
  };
  const open0 = XMLHttpRequest.prototype.open, send0 = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this._lifeosUnsafe = unsafe(method) && new URL(url, location.href).origin === location.origin;
    return open0.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (this._lifeosUnsafe && token()) {
      this.setRequestHeader("X-CSRF-Token", decodeURIComponent(token()));
    }
    return send0.call(this, body);
  };
})();
