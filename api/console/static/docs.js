// Swagger UI (from the swagger-ui-py package) on our contract; "Try it out" sends the
// session's CSRF token so a signed-in console user calls /v1 with the session's key role.
const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

const spec = await (await fetch("/openapi.json")).json();
// Swagger UI renders only the default 3.1 dialect and warns otherwise; ours is draft
// 2020-12 proper, which reads the same for display.
delete spec.jsonSchemaDialect;

window.SwaggerUIBundle({
  spec,
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: false,
  requestInterceptor: (request) => {
    if (token) request.headers["X-CSRF-Token"] = token;
    return request;
  },
});
