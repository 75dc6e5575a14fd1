/**
 * edgepost's worker entry: the Hono app (src/http) routes every request to the object that
 * owns the name: a TopicObject (src/topic) or a QueueObject (src/queue). Other Workers call the
 * same operations through the EdgepostService entrypoint (src/service).
 */
import { createApp } from "./http/app";

export { TopicObject } from "./topic/topic-object";
export { QueueObject } from "./queue/queue-object";
export { RelayObject } from "./relay/relay-object";
export { DirectoryObject } from "./directory/directory-object";
export { EdgepostService } from "./service/edgepost-service";

export default createApp();
