export class RedisInvalidationBroadcaster {}; export type RedisInvalidationBroadcasterOptions = {};
