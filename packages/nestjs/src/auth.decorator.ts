import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthContext } from '@jwt-session/socketio-adapter';

/**
 * The verified context in a handler: `@SessionAuth() auth: AuthContext`, or
 * one field, `@SessionAuth('userId') userId: string`. Over HTTP it is what
 * {@link SessionAuthGuard} set (undefined without the guard, or without a
 * token under `credentialsRequired: false`); on a gateway, the socket's
 * `data.auth` that `SessionIoAdapter`'s guard set at the handshake.
 */
export const SessionAuth = createParamDecorator((field: keyof AuthContext | undefined, context: ExecutionContext) => {
  const auth =
    context.getType() === 'ws'
      ? context.switchToWs().getClient<{ data?: { auth?: AuthContext } }>().data?.auth
      : context.switchToHttp().getRequest<{ auth?: AuthContext }>().auth;
  return field === undefined ? auth : auth?.[field];
});
