//! Kommentare and Wiedervorlagen of a Vorgang.

use crate::*;
use async_trait::async_trait;
use domain::{KommentarId, Visibility, VorgangId, WiedervorlageId};

#[async_trait]
pub trait NoteStore: Send + Sync {
    // --- Kommentare and Wiedervorlagen (issue 6) ---
    /// Adds an internal note and records `VorgangEvent::KommentarHinzugefuegt` in the same
    /// transaction. NotFound if the tenant has no such Vorgang. Does not change the Vorgang's
    /// version (notes never conflict with commands).
    async fn add_kommentar(
        &self,
        vorgang: VorgangId,
        id: KommentarId,
        text: &str,
        author: &Actor,
    ) -> Result<KommentarRecord>;
    /// Oldest first.
    async fn list_kommentare(&self, vorgang: VorgangId) -> Result<Vec<KommentarRecord>>;
    /// Creates a Wiedervorlage (version 1, not done) and records `WiedervorlageAngelegt`.
    /// NotFound if the tenant has no such Vorgang.
    async fn add_wiedervorlage(&self, w: NewWiedervorlage) -> Result<WiedervorlageRecord>;
    /// Applies `update` if the Wiedervorlage is still at `expected_version`, else Conflict.
    /// Records `WiedervorlageErledigt` / `WiedervorlageWiedereroeffnet` when `erledigt`
    /// changes, else `WiedervorlageGeaendert` (one event per call).
    async fn update_wiedervorlage(
        &self,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord>;
    async fn get_wiedervorlage(&self, id: WiedervorlageId) -> Result<WiedervorlageRecord>;
    /// Of one Vorgang: open ones by Frist, then done ones.
    async fn list_wiedervorlagen(&self, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>>;
    /// Across the Vorgänge within the query's visibility, by Frist (earliest first), and the
    /// total. `VorgangListItem::naechste_frist` in the worklist is the earliest open Frist.
    async fn wiedervorlagen(&self, query: &WiedervorlagenQuery) -> Result<(Vec<WiedervorlageRecord>, u64)>;
    /// How many open Wiedervorlagen within `visibility` are due on or before `day`.
    async fn count_due_wiedervorlagen(&self, visibility: &Visibility, day: time::Date) -> Result<u64>;
}
