/**
 * The worker's HTTP surface: middleware (errors, CORS, body size, credentials) and the route
 * groups. Publishing enters here, is validated, and goes to the topic's or queue's object.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../protocol/errors";
import { MAX_REQUEST_BYTES } from "../protocol/limits";
import { authenticate, type AppEnv } from "./auth";
import { directoryRoutes } from "./directory";
import { errorResponse, handleError, notFound } from "./errors";
import { apiHeaders } from "./headers";
import { openApiDocument } from "./openapi";
import { queueRoutes } from "./queues";
import { tokenRoutes } from "./tokens";
import { topicRoutes } from "./topics";

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
  app.route("/v1/tokens", tokenRoutes);
  app.route("/v1/topics", topicRoutes);
  app.route("/v1/queues", queueRoutes);
  return app;
}
