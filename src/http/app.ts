/**
 * The worker's HTTP surface: middleware (errors, CORS, body size, credentials) and the route
 * groups. Publishing enters here, is validated, and goes to the topic's or queue's object.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { ApiError } from "../protocol/errors";
import { MAX_REQUEST_BYTES } from "../protocol/limits";
import { authenticate, type AppEnv } from "./auth";
import { directoryRoutes } from "./directory";
import { errorResponse, handleError, notFound } from "./errors";
import { handleSqs, isSqsRequest, SQS_CORS_HEADERS } from "../sqs/endpoint";
import { sqsCredentialRoutes } from "../sqs/credentials-route";
import { allowedOrigin, apiHeaders } from "./headers";
import { openApiDocument } from "./openapi";
import { queueRoutes } from "./queues";
import { tokenRoutes } from "./tokens";
import { topicRoutes } from "./topics";

/** CORS on /sqs: the request's origin when ALLOWED_ORIGINS allows it (any by default). */
function sqsAllowedOrigin(origin: string, c: Context): string | null {
  return allowedOrigin(origin, (c.env as AppEnv["Bindings"]).ALLOWED_ORIGINS);
}

/** A request the static-assets router handed to the worker first, handed back to it. */
function serveAsset(c: Context<AppEnv>): Response | Promise<Response> {
  return c.env.ASSETS ? c.env.ASSETS.fetch(c.req.raw) : notFound(c);
}

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(handleError);
  app.notFound(notFound);

  // Security headers and CORS on every API answer, errors and preflights included.
  app.use("/v1/*", apiHeaders);
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_REQUEST_BYTES,
      onError: (c) => errorResponse(c, new ApiError(413, "payload_too_large", `request body over ${MAX_REQUEST_BYTES} bytes`)),
    }),
  );
  // The API description is public: it holds nothing a client could not learn from errors.
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));
  app.use("/v1/*", authenticate);

  app.route("/v1", directoryRoutes);
  app.route("/v1/tokens/sqs", sqsCredentialRoutes);
  app.route("/v1/tokens", tokenRoutes);
  app.route("/v1/topics", topicRoutes);
  app.route("/v1/queues", queueRoutes);

  // The SQS-compatible endpoint (src/sqs). SDKs given a queue URL post to its origin's `/`,
  // which otherwise is the console page: wrangler.toml runs the worker first for `/`, and
  // everything on `/` that is not SQS goes back to the static assets unchanged.
  // Browsers holding scoped SQS credentials use the AWS SDK from a page: CORS on /sqs.
  app.use("/sqs/*", cors({ origin: sqsAllowedOrigin, allowHeaders: SQS_CORS_HEADERS, allowMethods: ["POST", "OPTIONS"], exposeHeaders: ["x-amzn-requestid", "x-amzn-query-error"], maxAge: 600 }));
  app.use("/sqs", cors({ origin: sqsAllowedOrigin, allowHeaders: SQS_CORS_HEADERS, allowMethods: ["POST", "OPTIONS"], exposeHeaders: ["x-amzn-requestid", "x-amzn-query-error"], maxAge: 600 }));
  app.post("/sqs", handleSqs);
  app.post("/sqs/*", handleSqs);
  app.all("/", (c) => (c.req.method === "POST" && isSqsRequest(c) ? handleSqs(c) : serveAsset(c)));
  return app;
}
