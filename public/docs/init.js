// Scalar API reference (@scalar/api-reference, standalone bundle copied here by `npm run openapi`),
// configured so the page talks to this origin only: no default fonts (Google Fonts), no telemetry,
// no request proxy (the "try it" client calls this API directly), no Scalar registry, agent or MCP.
const origin = window.location.origin;
Scalar.createApiReference("#app", {
  url: "/api/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  proxyUrl: "",
  mcp: { disabled: true },
  agent: { disabled: true },
  showDeveloperTools: "never",
  hideClientButton: false,
  documentDownloadType: "json",
  externalUrls: { dashboardUrl: origin, registryUrl: origin, proxyUrl: origin, apiBaseUrl: origin },
  metaData: { title: "Tally API reference" },
});
