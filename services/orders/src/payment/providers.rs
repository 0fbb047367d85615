//! Payment providers: where an order's money comes from and goes back to. Two are built in: the shopper's
//! wallet (a balance in this database, debited with a conditional update) and a sandbox card provider with
//! documented test numbers. Both act inside the caller's transaction, so a charge and the order it pays commit
//! together or not at all.

use tokshop_platform::{
    ServiceError, ServiceResult, ids::new_id, limits::payments::MIN_CARD_NUMBER,
};

use super::{
    rules::{CARD_CLEARING, wallet_account},
    store,
};
use crate::Tx;

/// The providers tokshop knows, chosen by payment method id. The sandbox card provider exists only in a demo
/// shop: it accepts made-up cards, so anywhere else it would mint money.
pub struct Providers {
    pub wallet: Wallet,
    pub cards: Option<SandboxCards>,
}

impl Providers {
    pub fn new(sandbox_cards: bool) -> Self {
        Self {
            wallet: Wallet,
            cards: sandbox_cards.then_some(SandboxCards),
        }
    }

    /// The card provider, or the refusal a shop without one gives.
    pub fn cards(&self) -> ServiceResult<&SandboxCards> {
        self.cards.as_ref().ok_or_else(|| {
            ServiceError::conflict_on(
                "card_payments_unavailable",
                "payment_method_id",
                "this shop takes no card payments: no card provider is configured (the sandbox provider runs only \
                 in demo mode)",
            )
        })
    }

    pub fn for_method(&self, method_id: &str) -> ServiceResult<&dyn PaymentProvider> {
        if method_id == WALLET {
            Ok(&self.wallet)
        } else {
            Ok(self.cards()?)
        }
    }
}

/// Why a provider refused a charge; the order stays unpaid and the shopper is told this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub code: &'static str,
    pub message: String,
}

/// One charge or refund: who pays, from what, how much.
#[derive(Debug, Clone)]
pub struct Movement<'a> {
    pub user_id: &'a str,
    /// The card's provider token; empty for the wallet.
    pub token: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Takes the money. `Ok(Err(decline))` is a refusal, not a failure of ours.
    async fn charge(
        &self,
        tx: &mut Tx,
        movement: &Movement<'_>,
    ) -> ServiceResult<Result<(), Decline>>;
    /// Gives money back to where it came from.
    async fn refund(&self, tx: &mut Tx, movement: &Movement<'_>) -> ServiceResult<()>;
    /// The ledger account on the shopper's side of the movement.
    fn account(&self, movement: &Movement<'_>) -> String;
}

pub const WALLET: &str = "wallet";

/// The wallet: a stored balance per user and currency that never goes below zero.
pub struct Wallet;

#[async_trait::async_trait]
impl PaymentProvider for Wallet {
    async fn charge(&self, tx: &mut Tx, m: &Movement<'_>) -> ServiceResult<Result<(), Decline>> {
        if store::debit_wallet(tx, m.user_id, m.currency, m.amount).await? {
            return Ok(Ok(()));
        }
        let balance = store::wallet_balance(tx, m.user_id, m.currency).await?;
        Ok(Err(Decline {
            code: "insufficient_funds",
            message: format!(
                "the wallet holds {}; {} is needed",
                tokshop_platform::money::format(balance, m.currency),
                tokshop_platform::money::format(m.amount, m.currency)
            ),
        }))
    }

    async fn refund(&self, tx: &mut Tx, m: &Movement<'_>) -> ServiceResult<()> {
        store::credit_wallet(tx, m.user_id, m.currency, m.amount).await
    }

    fn account(&self, m: &Movement<'_>) -> String {
        wallet_account(m.user_id)
    }
}

/// The sandbox card provider. Test numbers: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined,
/// 4000 0000 0000 9995 fails for insufficient funds; any other number that passes the Luhn check succeeds.
/// The provider keeps each token's behaviour in its own table; tokshop keeps only the token and last four.
pub struct SandboxCards;

const SUCCEEDS: &str = "succeeds";
const DECLINED: &str = "declined";
const INSUFFICIENT: &str = "insufficient_funds";

/// A card as the provider accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    pub token: String,
    pub brand: &'static str,
    pub last4: String,
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn brand(number: &str) -> &'static str {
    match number.as_bytes() {
        [b'4', ..] => "visa",
        [b'5', b'1'..=b'5', ..] | [b'2', ..] => "mastercard",
        [b'3', b'4' | b'7', ..] => "amex",
        _ => "card",
    }
}

impl SandboxCards {
    /// Checks a card number and exchanges it for a token; the number itself goes no further.
    pub async fn tokenize(&self, tx: &mut Tx, number: &str) -> ServiceResult<Tokenized> {
        let number: String = number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let digits: Option<Vec<u8>> = number
            .chars()
            .map(|c| c.to_digit(10).and_then(|d| u8::try_from(d).ok()))
            .collect();
        let valid = digits
            .as_deref()
            .is_some_and(|d| (MIN_CARD_NUMBER..=19).contains(&d.len()) && luhn_valid(d));
        if !valid {
            return Err(ServiceError::invalid("number", "not a valid card number"));
        }
        let outcome = match number.as_str() {
            "4000000000000002" => DECLINED,
            "4000000000009995" => INSUFFICIENT,
            _ => SUCCEEDS,
        };
        let token = new_id("tok");
        store::insert_sandbox_card(tx, &token, outcome).await?;
        Ok(Tokenized {
            token,
            brand: brand(&number),
            last4: number[number.len() - 4..].to_owned(),
        })
    }
}

#[async_trait::async_trait]
impl PaymentProvider for SandboxCards {
    async fn charge(&self, tx: &mut Tx, m: &Movement<'_>) -> ServiceResult<Result<(), Decline>> {
        let outcome = store::sandbox_outcome(tx, m.token).await?;
        Ok(match outcome.as_deref() {
            Some(SUCCEEDS) => Ok(()),
            Some(INSUFFICIENT) => Err(Decline {
                code: "insufficient_funds",
                message: "the card has insufficient funds".into(),
            }),
            _ => Err(Decline {
                code: "card_declined",
                message: "the card was declined".into(),
            }),
        })
    }

    async fn refund(&self, _tx: &mut Tx, _m: &Movement<'_>) -> ServiceResult<()> {
        // The sandbox settles refunds to the card at once; the ledger records the movement.
        Ok(())
    }

    fn account(&self, _m: &Movement<'_>) -> String {
        CARD_CLEARING.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_brands() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
        assert!(luhn_valid(&digits("4242424242424242")));
        assert!(luhn_valid(&digits("4000000000000002")));
        assert!(luhn_valid(&digits("4000000000009995")));
        assert!(!luhn_valid(&digits("4242424242424241")));
        assert_eq!(brand("4242424242424242"), "visa");
        assert_eq!(brand("5555555555554444"), "mastercard");
        assert_eq!(brand("378282246310005"), "amex");
    }
}
