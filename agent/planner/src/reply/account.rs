//! The shopper's profile and address book.

use tokshop_tools::account::{AddressList, Me};

use crate::observation::Observation;
use crate::text::{Lang, clip};

pub fn addresses(obs: &Observation, lang: Lang) -> String {
    let addresses = obs
        .get::<AddressList>()
        .map_or(&[][..], |l| l.addresses.as_slice());
    if addresses.is_empty() {
        return lang
            .pick(
                "You have no saved address yet; add one in the app before checking out.",
                "你还没有收货地址，结账前请先在 App 中添加。",
            )
            .to_owned();
    }
    let mut out = lang.pick("Your addresses:", "你的收货地址：").to_owned();
    for (i, a) in addresses.iter().enumerate() {
        let default = if a.default {
            lang.pick(" (default)", "（默认）")
        } else {
            ""
        };
        out.push_str(&format!(
            "\n{}. {}, {}, {} {}, {}{default}",
            i + 1,
            clip(&a.recipient, 60),
            clip(&a.line1, 80),
            clip(&a.city, 40),
            a.postal_code,
            a.country
        ));
    }
    out
}

pub fn profile(obs: &Observation, lang: Lang) -> String {
    let me = obs.get::<Me>().cloned().unwrap_or_default();
    let username = me.username.as_str();
    let name = if me.display_name.is_empty() {
        username
    } else {
        &me.display_name
    };
    match lang {
        Lang::En => format!(
            "You're signed in as {} ({}).",
            clip(name, 60),
            clip(username, 60)
        ),
        Lang::Zh => format!(
            "你当前登录的账号是 {}（{}）。",
            clip(name, 60),
            clip(username, 60)
        ),
    }
}
