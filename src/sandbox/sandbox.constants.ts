// NOTE: defined in config, which adds them in sandbox mode; the sandbox and its users read them from here
export {
  SANDBOX_ADMIN_KEY,
  SANDBOX_DEMO_ACCOUNT,
  SANDBOX_DEMO_MINI_PROGRAM,
} from '../config/sandbox-defaults';
