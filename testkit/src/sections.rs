//! A test's way into the configuration's sections (every one is present in
//! `Config::for_tests`): `config.auth_mut().secret = ...`.

use portal_domain::Config;
use portal_domain::config::{AuthConfig, MailConfig, ServicesConfig, TunnelConfig};

const ALL: &str = "Config::for_tests reads every section";

pub trait Sections {
    fn auth(&self) -> &AuthConfig;
    fn auth_mut(&mut self) -> &mut AuthConfig;
    fn mail_mut(&mut self) -> &mut MailConfig;
    fn tunnel_mut(&mut self) -> &mut TunnelConfig;
    fn services_mut(&mut self) -> &mut ServicesConfig;
}

impl Sections for Config {
    fn auth(&self) -> &AuthConfig {
        self.auth.as_ref().expect(ALL)
    }

    fn auth_mut(&mut self) -> &mut AuthConfig {
        self.auth.as_mut().expect(ALL)
    }

    fn mail_mut(&mut self) -> &mut MailConfig {
        self.mail.as_mut().expect(ALL)
    }

    fn tunnel_mut(&mut self) -> &mut TunnelConfig {
        self.tunnel.as_mut().expect(ALL)
    }

    fn services_mut(&mut self) -> &mut ServicesConfig {
        self.services.as_mut().expect(ALL)
    }
}
