// Swagger UI (from the swagger-ui-py package) on our contract; "Try it out" sends the
// session's CSRF token so a signed-in console user calls /v1 with the session's key role.
const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: false,
  requestInterceptor: (request) => {
    if (token) request.headers["X-CSRF-Token"] = token;
    return request;
  },
});
