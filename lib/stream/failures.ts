import { ErrorCode, type NatsError } from 'nats';
import { classifyConnectionError, type FailureClass } from '../documents/failures';

/** The failure class of an error of the nats client (its codes first, then Node's). */
export function natsFailureClass(error: unknown): FailureClass {
  switch ((error as NatsError).code) {
    case ErrorCode.ConnectionRefused:
      return 'refused';
    case ErrorCode.ConnectionTimeout:
    case ErrorCode.Timeout:
    case ErrorCode.JetStream408RequestTimeout:
    // 503, "no responders": nothing answers the JetStream API (no leader: a majority of the servers down).
    case ErrorCode.NoResponders:
      return 'timeout';
    case ErrorCode.AuthorizationViolation:
    case ErrorCode.AuthenticationExpired:
    case ErrorCode.AuthenticationTimeout:
    case ErrorCode.BadAuthentication:
    case ErrorCode.BadCreds:
    case ErrorCode.PermissionsViolation:
      return 'auth';
    case ErrorCode.Tls:
      return 'tls';
    default:
      return classifyConnectionError(error);
  }
}
